// Types for scripts/gen-api.mjs, so the staleness test can import it under strict TypeScript.
export const OUTPUT: string;
export function schemaFromBackend(): Record<string, unknown> | null;
export function schemaFromUrl(url: string): Promise<Record<string, unknown>>;
export function render(schema: Record<string, unknown>): Promise<string>;
export function committed(): string | null;
