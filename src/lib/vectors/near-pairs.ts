// Pairs of 64-bit hashes within a Hamming distance, without comparing every pair: multi-index
// hashing. The hash is cut into four 16-bit bands; two hashes at most 11 bits apart agree to within
// 2 bits in at least one band (pigeonhole), so each hash only meets those filed under its bands'
// keys and their neighbours within 2 bits (137 keys a band). At 100,000 hashes that is
// hundreds of comparisons each instead of 100,000 (a few hundred ms in the worker, once).
import { popcount32 } from '@/lib/workers/phash';

const BANDS = 4;

/** XOR masks of 16-bit keys within `radius` bits (1, 17 or 137 of them) */
function masks(radius: number): Int32Array {
  const out = [0];
  if (radius >= 1) for (let i = 0; i < 16; i++) out.push(1 << i);
  if (radius >= 2) for (let i = 0; i < 16; i++) for (let j = i + 1; j < 16; j++) out.push((1 << i) | (1 << j));
  return Int32Array.from(out);
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
  const flips = masks(r);
  // one chained list per band and key: head[key] -> last index filed, next[index] -> the one before
  const heads = Array.from({ length: BANDS }, () => new Int32Array(65536).fill(-1));
  const next = Array.from({ length: BANDS }, () => new Int32Array(n).fill(-1));
  // the last hash that met each index (a pair met through two bands is compared once)
  const metBy = new Int32Array(n).fill(-1);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (skip?.[i]) continue;
    const hi = words[2 * i]!;
    const lo = words[2 * i + 1]!;
    const keys = [hi >>> 16, hi & 0xffff, lo >>> 16, lo & 0xffff];
    for (let b = 0; b < BANDS; b++) {
      const head = heads[b]!;
      const nx = next[b]!;
      const key = keys[b]!;
      for (let f = 0; f < flips.length; f++) {
        for (let j = head[key ^ flips[f]!]!; j >= 0; j = nx[j]!) {
          if (metBy[j] === i) continue;
          metBy[j] = i;
          if (popcount32(hi ^ words[2 * j]!) + popcount32(lo ^ words[2 * j + 1]!) <= maxDistance) out.push(j, i);
        }
      }
    }
    for (let b = 0; b < BANDS; b++) {
      next[b]![i] = heads[b]![keys[b]!]!;
      heads[b]![keys[b]!] = i;
    }
  }
  return Int32Array.from(out);
}
