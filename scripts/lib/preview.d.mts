/** Serves dist/ with vite preview at `base` unless something answers there; resolves to the stop function. */
export function ensurePreview(base: string, log?: (...a: unknown[]) => void): Promise<() => void>;
