/// <reference types="node" />
import { describe, expect, it } from 'vitest';
import { committed, render, schemaFromBackend } from '../../../scripts/gen-api.mjs';

// The backend's OpenAPI schema is the source of truth for the client's types. This regenerates
// the client in memory from create_app() and compares it with the committed file.
const schema = schemaFromBackend();

describe('generated API client', () => {
  it.skipIf(schema === null && !process.env.CI)('is up to date with the backend (run `npm run gen:api` if this fails)', async () => {
    expect(schema, 'the backend could not be imported (PYTHONPATH=backend, .venv)').not.toBeNull();
    const fresh = await render(schema!);
    const current = committed();
    expect(current, 'src/lib/api/schema.gen.ts is missing: run `npm run gen:api`').not.toBeNull();
    // Compare line by line so a failure names the first changed line, not a 100 kB string.
    const a = current!.split('\n');
    const b = fresh.split('\n');
    const first = b.findIndex((line, i) => line !== a[i]);
    expect(first === -1 && a.length === b.length ? 'up to date' : `stale from line ${first + 1}: ${b[first] ?? '(end)'}`).toBe('up to date');
  }, 120_000);
});
