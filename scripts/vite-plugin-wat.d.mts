// Types for scripts/vite-plugin-wat.mjs (vite.config.ts imports it under strict TypeScript).
import type { Plugin } from 'vite';
export function assembleWat(path: string, text: string): Promise<Uint8Array>;
export default function wat(): Plugin;
