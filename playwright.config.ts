import { defineConfig } from '@playwright/test';

// E2E in real Chromium (Debian package). By default the built UI is served by `vite preview`;
// set E2E_BASE_URL (and E2E_NO_SERVER=1) to run the same specs against the real backend, which
// serves dist/ and /v1 on :8080. E2E_PREVIEW_PORT moves vite preview (and E2E_AI_PORT / E2E_MT_PORT the
// specs' own backends), so two checkouts can run the suite side by side.
const previewPort = Number(process.env.E2E_PREVIEW_PORT ?? 4173);
const baseURL = process.env.E2E_BASE_URL ?? `http://127.0.0.1:${previewPort}`;

export default defineConfig({
  testDir: 'tests/e2e',
  workers: 1,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    baseURL,
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
  webServer: process.env.E2E_NO_SERVER
    ? undefined
    : {
        command: `(test -f dist/index.html || npx vite build) && npx vite preview --port ${previewPort} --strictPort`,
        url: baseURL,
        reuseExistingServer: false, // vite preview indexes dist/ at start: a reused one serves a stale build
        timeout: 180_000,
      },
});
