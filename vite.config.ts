/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';
import { fileURLToPath } from 'node:url';
import wat from './scripts/vite-plugin-wat.mjs';

// The API runs on ATELIER_PORT (8080); `npm run dev` proxies /v1 to it.
const apiTarget = `http://127.0.0.1:${process.env.ATELIER_PORT ?? '8080'}`;

export default defineConfig({
  plugins: [react(), tailwindcss(), wat()],
  // workers are bundled apart: the search worker imports the WebAssembly kernel's text too
  worker: { format: 'es', plugins: () => [wat()] },
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  server: { proxy: { '/v1': apiTarget } },
  build: { outDir: 'dist', sourcemap: true },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
    setupFiles: ['src/test/setup.ts'],
  },
});
