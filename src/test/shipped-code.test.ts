/// <reference types="node" />
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// Test doubles and helpers live in src/test (or beside the tests): what the app ships imports
// none of them, so the bundle holds no test code.
const SRC = join(import.meta.dirname, '..');
const isTest = (path: string) => /\.test\.tsx?$/.test(path) || path.startsWith('test/');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return /\.tsx?$/.test(e.name) ? [relative(SRC, path)] : [];
  });
}

describe('shipped code', () => {
  const shipped = sources(SRC).filter((p) => !isTest(p));

  it('imports nothing from the test folders', () => {
    const offenders = shipped.filter((p) => /from\s+['"](@\/test\/|(\.\.\/)+test\/|\.\/[\w-]*fakes?['"])/.test(readFileSync(join(SRC, p), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('holds no test doubles', () => {
    const doubles = shipped.filter((p) => /(^|\/)[\w-]*(fakes?|mocks?|stubs?)[\w-]*\.tsx?$/.test(p) || /export (function|const|class) (memoryPersistence|Fake\w+|fake\w+)\b/.test(readFileSync(join(SRC, p), 'utf8')));
    expect(doubles).toEqual([]);
  });
});
