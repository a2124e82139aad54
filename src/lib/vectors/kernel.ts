// The search memory: every vector of one model as int8 rows of one WebAssembly memory, and the
// kernel that scores a query against all of them (dot-i8.wat, WebAssembly SIMD). Where SIMD is
// missing (an old browser) the same layout is scored by a plain loop: slower, same results.
import kernelBytes from './dot-i8.wat';

const PAGE = 65536;

interface Kernel {
  memory: WebAssembly.Memory;
  scores: (q: number, db: number, scales: number, out: number, n: number, dim: number) => void;
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled kernel, or null where WebAssembly SIMD is unavailable. */
export function simdModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = typeof WebAssembly !== 'undefined' && WebAssembly.validate(kernelBytes as BufferSource) ? new WebAssembly.Module(kernelBytes as BufferSource) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

const align16 = (n: number) => (n + 15) & ~15;

/**
 * Rows of `dim` int8 values (dim a multiple of 32) with a scale each, appended or overwritten by
 * slot. Layout of the memory: [query int16 x dim][scales f32 x cap][scores f32 x cap][rows x cap].
 */
export class VectorMatrix {
  readonly simd: boolean;
  private kernel: Kernel | null;
  private cap = 0;
  private n = 0;
  private qPtr = 0;
  private sPtr = 0;
  private oPtr = 0;
  private dbPtr = 0;
  /** the JS path's storage (no WebAssembly memory) */
  private rows = new Int8Array(0);
  private scalesArr = new Float32Array(0);
  private out = new Float32Array(0);

  constructor(readonly dim: number, { forceJs = false }: { forceJs?: boolean } = {}) {
    if (dim % 32 !== 0) throw new Error(`dimension must be a multiple of 32, got ${dim}`);
    const mod = forceJs ? null : simdModule();
    this.kernel = mod ? (new WebAssembly.Instance(mod).exports as unknown as Kernel) : null;
    this.simd = !!this.kernel;
    this.reserve(1024);
  }

  get count(): number {
    return this.n;
  }

  /** bytes of vector data held (rows + scales) */
  get bytes(): number {
    return this.n * (this.dim + 4);
  }

  private reserve(want: number): void {
    if (want <= this.cap) return;
    const cap = Math.max(want, Math.ceil(this.cap * 1.5), 1024);
    const dim = this.dim;
    if (!this.kernel) {
      const rows = new Int8Array(cap * dim);
      rows.set(this.rows.subarray(0, this.n * dim));
      const scales = new Float32Array(cap);
      scales.set(this.scalesArr.subarray(0, this.n));
      this.rows = rows;
      this.scalesArr = scales;
      this.out = new Float32Array(cap);
      this.cap = cap;
      return;
    }
    const mem = this.kernel.memory;
    const qPtr = 0;
    const sPtr = align16(qPtr + dim * 2);
    const oPtr = align16(sPtr + cap * 4);
    const dbPtr = align16(oPtr + cap * 4);
    const need = dbPtr + cap * dim;
    // the old regions first (the growth detaches earlier views), then move rows before scales:
    // the new regions start at or after the old ones, so copying from the end is safe
    const old = { sPtr: this.sPtr, dbPtr: this.dbPtr, n: this.n };
    if (need > mem.buffer.byteLength) mem.grow(Math.ceil((need - mem.buffer.byteLength) / PAGE));
    const u8 = new Uint8Array(mem.buffer);
    if (old.n) {
      u8.copyWithin(dbPtr, old.dbPtr, old.dbPtr + old.n * dim);
      u8.copyWithin(sPtr, old.sPtr, old.sPtr + old.n * 4);
    }
    Object.assign(this, { qPtr, sPtr, oPtr, dbPtr, cap });
  }

  private views() {
    const buf = this.kernel!.memory.buffer;
    return {
      rows: new Int8Array(buf, this.dbPtr, this.cap * this.dim),
      scales: new Float32Array(buf, this.sPtr, this.cap),
    };
  }

  /** Appends rows (data: k * dim values); returns the first new slot. */
  append(data: Int8Array, scales: Float32Array): number {
    const k = scales.length;
    if (data.length !== k * this.dim) throw new Error(`expected ${k * this.dim} values, got ${data.length}`);
    const first = this.n;
    this.reserve(this.n + k);
    const v = this.kernel ? this.views() : { rows: this.rows, scales: this.scalesArr };
    v.rows.set(data, first * this.dim);
    v.scales.set(scales, first);
    this.n += k;
    return first;
  }

  /** Overwrites one slot (a re-embedded image); a scale of 0 hides a removed one. */
  set(slot: number, data: Int8Array | null, scale: number): void {
    const v = this.kernel ? this.views() : { rows: this.rows, scales: this.scalesArr };
    if (data) v.rows.set(data, slot * this.dim);
    v.scales[slot] = scale;
  }

  row(slot: number): { data: Int8Array; scale: number } {
    const v = this.kernel ? this.views() : { rows: this.rows, scales: this.scalesArr };
    return { data: v.rows.slice(slot * this.dim, (slot + 1) * this.dim), scale: v.scales[slot]! };
  }

  /**
   * scale_i * (q . row_i) for every slot: a cosine up to the query's own scale, which is the same
   * for every row (so the order is exact; multiply by it for the cosine). The result is a view
   * that the next call overwrites.
   */
  scores(q: Int16Array | Int8Array): Float32Array {
    if (q.length !== this.dim) throw new Error(`query has ${q.length} values, expected ${this.dim}`);
    const n = this.n;
    if (this.kernel) {
      new Int16Array(this.kernel.memory.buffer, this.qPtr, this.dim).set(q);
      this.kernel.scores(this.qPtr, this.dbPtr, this.sPtr, this.oPtr, n, this.dim);
      return new Float32Array(this.kernel.memory.buffer, this.oPtr, n);
    }
    const { rows, scalesArr: scales, out, dim } = this;
    for (let i = 0; i < n; i++) {
      let s = 0;
      const base = i * dim;
      for (let j = 0; j < dim; j++) s += q[j]! * rows[base + j]!;
      out[i] = s * scales[i]!;
    }
    return out.subarray(0, n);
  }
}

/**
 * The k best slots, best first. `allow` (1 = candidate) narrows the candidates (the filters);
 * slots with a zero scale (removed) never rank.
 */
export function topK(scores: Float32Array, k: number, allow?: Uint8Array, skip?: ReadonlySet<number>): { slots: Int32Array; scores: Float32Array } {
  const slots = new Int32Array(k);
  const best = new Float32Array(k);
  let size = 0;
  let floor = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (s <= floor && size === k) continue;
    if (s === 0 || (allow && !allow[i]) || skip?.has(i)) continue;
    // insertion into a short sorted list: k is small (tens to hundreds), most scores fail the floor
    let j = size < k ? size++ : k - 1;
    while (j > 0 && best[j - 1]! < s) {
      best[j] = best[j - 1]!;
      slots[j] = slots[j - 1]!;
      j--;
    }
    best[j] = s;
    slots[j] = i;
    if (size === k) floor = best[k - 1]!;
  }
  return { slots: slots.slice(0, size), scores: best.slice(0, size) };
}
