/** RGB PNG with a colour gradient and optional tEXt chunks ({ parameters: '...' }). */
export function png(width: number, height: number, seed?: number, text?: Record<string, string>, opts?: { smooth?: boolean }): Buffer;
export const A1111_PARAMS: string;
export const COMFY_PROMPT: string;
