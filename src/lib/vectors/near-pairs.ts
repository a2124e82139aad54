// Pairs of 64-bit hashes within a Hamming distance, without comparing every pair: multi-index
// hashing. The hash is cut into four 16-bit bands; two hashes at most 11 bits apart agree to within
// 2 bits in at least one band (pigeonhole), so each hash only meets those filed under its bands'
// keys and their neighbours within 2 bits (137 keys a band). At 100,000 hashes that is
// hundreds of comparisons each instead of 100,000 (a few hundred ms in the worker, once).
import { popcount32 } from '@/lib/workers/phash';

const BANDS = 4;

/** keys within 0, 1 or 2 bits of `key` (16-bit) */
function neighbours(key: number, radius: number, out: number[]): number[] {
  out.length = 0;
  out.push(key);
  if (radius >= 1) for (let i = 0; i < 16; i++) out.push(key ^ (1 << i));
  if (radius >= 2) for (let i = 0; i < 16; i++) for (let j = i + 1; j < 16; j++) out.push(key ^ (1 << i) ^ (1 << j));
  return out;
}

/**
 * `words`: two 32-bit words per hash (hi, lo), n hashes; `skip[i]` 1 leaves hash i out. Returns the
 * index pairs (i < j) at distance <= maxDistance, flat.
 */
export function nearPairs(words: Uint32Array, maxDistance: number, skip?: Uint8Array): Int32Array {
  // some band is within floor(D / 4) bits when the whole hash is within D
  const r = Math.floor(maxDistance / BANDS);
  if (r > 2) throw new Error(`near pairs are found up to ${3 * BANDS - 1} bits, asked for ${maxDistance}`);
  const n = words.length / 2;
  // one chained list per band and key: head[key] -> first index, next[index] -> the one before
  const heads = Array.from({ length: BANDS }, () => new Int32Array(65536).fill(-1));
  const next = Array.from({ length: BANDS }, () => new Int32Array(n).fill(-1));
  const band = (i: number, b: number) => (b < 2 ? words[2 * i]! >>> (b === 0 ? 16 : 0) : words[2 * i + 1]! >>> (b === 2 ? 16 : 0)) & 0xffff;
  const out: number[] = [];
  const keys: number[] = [];
  const met = new Set<number>();
  for (let i = 0; i < n; i++) {
    if (skip?.[i]) continue;
    met.clear();
    const hi = words[2 * i]!;
    const lo = words[2 * i + 1]!;
    for (let b = 0; b < BANDS; b++) {
      for (const k of neighbours(band(i, b), r, keys)) {
        for (let j = heads[b]![k]!; j >= 0; j = next[b]![j]!) {
          if (met.has(j)) continue;
          met.add(j);
          if (popcount32(hi ^ words[2 * j]!) + popcount32(lo ^ words[2 * j + 1]!) <= maxDistance) out.push(j, i);
        }
      }
    }
    for (let b = 0; b < BANDS; b++) {
      const k = band(i, b);
      next[b]![i] = heads[b]![k]!;
      heads[b]![k] = i;
    }
  }
  return Int32Array.from(out);
}
