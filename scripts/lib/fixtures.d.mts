/** RGB PNG with a colour gradient and optional tEXt chunks ({ parameters: '...' }). */
export function png(width: number, height: number, seed?: number, text?: Record<string, string>, opts?: { smooth?: boolean }): Buffer;
export const A1111_PARAMS: string;
export const COMFY_PROMPT: string;
/** RGB PNG of a seeded layout of rectangles and discs on a gradient (pictures differ in layout). */
export function scenePng(width: number, height: number, seed?: number, text?: Record<string, string>): Buffer;
