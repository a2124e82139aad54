/// <reference types="node" />
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hamming, phashFromRgba, phashWords, popcount32 } from './phash';
import { REENCODED_MAX_DISTANCE } from '@/features/search/stacks/tiers';

// Fixtures made with real encoders at test time: scripts/near_dup_set.py draws unrelated scenes
// with Pillow, saves copies as users make them (JPEG q70, 25% size, brightness ±15%, 5% crop) and
// decodes each file again the way the import sees it (fitted in 384 px).
interface Entry { file: string; base: string; variant: string; w: number; h: number; hash: string }
let dir = '';
let set: Entry[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atelier-phash-'));
  const python = existsSync('.venv/bin/python') ? '.venv/bin/python' : 'python3';
  execFileSync(python, ['scripts/near_dup_set.py', '--out', dir, '--bases', '10', '--copied', '4', '--size', '480x360', '--thumbs'], { stdio: 'pipe' });
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Omit<Entry, 'hash'>[];
  set = manifest.map((e) => ({ ...e, hash: phashFromRgba(readFileSync(join(dir, `${e.file}.rgba`)), e.w, e.h) }));
  return () => rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('perceptual hash', () => {
  it('is 64 bits as 16 hex digits, the same for the same pixels', () => {
    const e = set[0]!;
    expect(e.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(phashFromRgba(readFileSync(join(dir, `${e.file}.rgba`)), e.w, e.h)).toBe(e.hash);
    expect(phashWords('ffffffff00000001')).toEqual([0xffffffff, 1]);
    expect(popcount32(0xffffffff)).toBe(32);
    expect(hamming('ffffffff00000000', '0000000000000003')).toBe(34);
  });

  it('keeps copies made with JPEG q70, a 25% resize, ±15% brightness and a 5% crop near their original', () => {
    const orig = new Map(set.filter((e) => e.variant === 'orig').map((e) => [e.base, e.hash]));
    const copies = set.filter((e) => e.variant !== 'orig');
    expect(new Set(copies.map((e) => e.variant))).toEqual(new Set(['jpeg70', 'small25', 'bright15', 'dark15', 'crop5']));
    const far = copies.map((c) => ({ file: c.file, d: hamming(c.hash, orig.get(c.base)!) })).filter((x) => x.d > REENCODED_MAX_DISTANCE);
    expect(far).toEqual([]);
  });

  it('keeps unrelated pictures apart', () => {
    const originals = set.filter((e) => e.variant === 'orig');
    let closest = 64;
    for (let i = 0; i < originals.length; i++) for (let j = i + 1; j < originals.length; j++) closest = Math.min(closest, hamming(originals[i]!.hash, originals[j]!.hash));
    expect(closest).toBeGreaterThan(REENCODED_MAX_DISTANCE);
  });

  it('refuses too few pixels', () => {
    expect(() => phashFromRgba(new Uint8Array(12), 2, 2)).toThrow(/2x2 RGBA/);
  });
});
