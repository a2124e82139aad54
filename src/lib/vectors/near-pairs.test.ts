import { describe, expect, it } from 'vitest';
import { rng } from '@/test/vectors';
import { popcount32 } from '@/lib/workers/phash';
import { nearPairs } from './near-pairs';

describe('near pairs of perceptual hashes', () => {
  it('finds exactly the pairs a comparison of every pair finds', () => {
    const r = rng(11);
    const n = 600;
    const words = new Uint32Array(n * 2);
    for (let i = 0; i < n; i++) {
      if (i % 3 === 1) {
        // a copy of the previous hash with 0-11 bits flipped
        words[2 * i] = words[2 * i - 2]!;
        words[2 * i + 1] = words[2 * i - 1]!;
        const flips = Math.floor(r() * 12);
        for (let f = 0; f < flips; f++) {
          const bit = Math.floor(r() * 64);
          words[2 * i + (bit >> 5)]! ^= 1 << (bit & 31);
        }
      } else {
        words[2 * i] = Math.floor(r() * 2 ** 32);
        words[2 * i + 1] = Math.floor(r() * 2 ** 32);
      }
    }
    for (const d of [0, 3, 6, 10, 11]) {
      const brute: string[] = [];
      for (let j = 1; j < n; j++) for (let i = 0; i < j; i++) {
        if (popcount32(words[2 * i]! ^ words[2 * j]!) + popcount32(words[2 * i + 1]! ^ words[2 * j + 1]!) <= d) brute.push(`${i}-${j}`);
      }
      const got = nearPairs(words, d);
      const pairs: string[] = [];
      for (let k = 0; k < got.length; k += 2) pairs.push(`${got[k]}-${got[k + 1]}`);
      expect(pairs.sort()).toEqual(brute.sort());
      if (d === 10) expect(brute.length).toBeGreaterThan(100);
    }
    expect(() => nearPairs(words, 12)).toThrow(/up to 11 bits/);
  });

  it('leaves out the hashes it is told to skip', () => {
    const words = Uint32Array.from([1, 1, 1, 1, 1, 3]);
    expect([...nearPairs(words, 2)]).toEqual([0, 1, 1, 2, 0, 2]);
    expect([...nearPairs(words, 2, Uint8Array.from([0, 1, 0]))]).toEqual([0, 2]);
  });
});
