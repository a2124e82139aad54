// Perceptual hash (pHash) of an image's pixels: the same picture re-encoded, resized or brightened
// gets the same or a nearby hash, unrelated pictures far ones. The near-duplicate stacks' second
// tier compares these (Hamming distance, see features/search/stacks).
//
// As imagehash's phash does: luma, shrunk to 32x32 (a box filter here, so every browser and the
// tests agree to the bit), a 2-D DCT-II, the 8x8 lowest frequencies, one bit each for "above
// their median". 64 bits, written as 16 hex digits.

const N = 32;
const LOW = 8;

let cosTable: Float64Array | undefined;
/** cos((2x + 1) u pi / 2N) for u < LOW, x < N */
function table(): Float64Array {
  if (cosTable) return cosTable;
  cosTable = new Float64Array(LOW * N);
  for (let u = 0; u < LOW; u++) for (let x = 0; x < N; x++) cosTable[u * N + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N));
  return cosTable;
}

/** Luma shrunk to 32x32 by averaging the source pixels each cell covers (whole pixels). */
export function shrinkLuma(rgba: ArrayLike<number>, w: number, h: number): Float64Array {
  const out = new Float64Array(N * N);
  for (let cy = 0; cy < N; cy++) {
    const y0 = Math.floor((cy * h) / N);
    const y1 = Math.max(y0 + 1, Math.floor(((cy + 1) * h) / N));
    for (let cx = 0; cx < N; cx++) {
      const x0 = Math.floor((cx * w) / N);
      const x1 = Math.max(x0 + 1, Math.floor(((cx + 1) * w) / N));
      let s = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0, p = (y * w + x0) * 4; x < x1; x++, p += 4) s += 0.299 * rgba[p]! + 0.587 * rgba[p + 1]! + 0.114 * rgba[p + 2]!;
      }
      out[cy * N + cx] = s / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

/** pHash of RGBA pixels (an ImageData's `data`), as 16 hex digits. */
export function phashFromRgba(rgba: ArrayLike<number>, w: number, h: number): string {
  if (w < 1 || h < 1 || rgba.length < w * h * 4) throw new Error(`pHash needs ${w}x${h} RGBA pixels, got ${rgba.length} values`);
  const px = shrinkLuma(rgba, w, h);
  const c = table();
  // the 8x8 low-frequency corner of the DCT, rows first
  const rows = new Float64Array(N * LOW);
  for (let y = 0; y < N; y++) for (let u = 0; u < LOW; u++) {
    let s = 0;
    for (let x = 0; x < N; x++) s += px[y * N + x]! * c[u * N + x]!;
    rows[y * LOW + u] = s;
  }
  const low = new Float64Array(LOW * LOW);
  for (let v = 0; v < LOW; v++) for (let u = 0; u < LOW; u++) {
    let s = 0;
    for (let y = 0; y < N; y++) s += rows[y * LOW + u]! * c[v * N + y]!;
    low[v * LOW + u] = s;
  }
  const sorted = Float64Array.from(low).sort();
  const median = (sorted[31]! + sorted[32]!) / 2;
  let hex = '';
  for (let nib = 0; nib < 16; nib++) {
    let d = 0;
    for (let b = 0; b < 4; b++) d = (d << 1) | (low[nib * 4 + b]! > median ? 1 : 0);
    hex += d.toString(16);
  }
  return hex;
}

/** The hash as two 32-bit halves (the stack index compares these). */
export function phashWords(hex: string): [number, number] {
  return [parseInt(hex.slice(0, 8), 16) >>> 0, parseInt(hex.slice(8, 16), 16) >>> 0];
}

export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Bits that differ between two hashes (0-64). */
export function hamming(a: string, b: string): number {
  const [a0, a1] = phashWords(a);
  const [b0, b1] = phashWords(b);
  return popcount32(a0 ^ b0) + popcount32(a1 ^ b1);
}
