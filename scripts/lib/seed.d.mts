/** Runs in the page (pass to page.evaluate). Resolves to the milliseconds it took. */
export function seedLibrary(args: { n: number; batch?: number; start?: number; thumbs?: boolean; dupEvery?: number }): Promise<number>;
