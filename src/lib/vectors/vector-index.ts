// The vectors of one model in memory, by image id, searchable (runs in the search worker).
import { VectorMatrix, topK } from './kernel';
import { cosineI8, dequantize, paddedDim, quantizeQuery } from './quantize';
import { isTombstone, type Segment, type VectorSegment } from './store';

export interface Ranked {
  ids: string[];
  /** cosine similarity, best first */
  scores: number[];
}

export interface QueryOptions {
  k: number;
  /** only these images may rank (the filters); all when absent */
  allow?: readonly string[];
  /** never these (the images a find-similar started from) */
  exclude?: readonly string[];
}

export class VectorIndex {
  private matrix: VectorMatrix | null = null;
  private ids: string[] = [];
  private slotOf = new Map<string, number>();
  private dead = new Set<string>();
  dim = 0;

  constructor(readonly model: string, private readonly opts: { forceJs?: boolean } = {}) {}

  get count(): number {
    return this.slotOf.size;
  }

  get simd(): boolean {
    return this.matrix?.simd ?? false;
  }

  /** bytes of vector data in memory (int8 rows + scales) */
  get bytes(): number {
    return this.count * (paddedDim(this.dim) + 4);
  }

  has(id: string): boolean {
    return this.slotOf.has(id);
  }

  /** Everything a database read found (see store.ts): this model's rows, minus deleted images. */
  load(segments: Iterable<Segment>): void {
    const list = [...segments];
    for (const s of list) if (isTombstone(s)) this.remove(s.dead);
    for (const s of list) if (!isTombstone(s)) this.add(s);
  }

  add(s: VectorSegment): void {
    if (s.model !== this.model) return;
    if (!this.matrix) {
      this.dim = s.dim;
      this.matrix = new VectorMatrix(paddedDim(s.dim), this.opts);
    }
    if (s.dim !== this.dim) {
      console.warn(`vectors of ${this.model} with ${s.dim} dimensions ignored: the index holds ${this.dim}`);
      return;
    }
    const pd = paddedDim(s.dim);
    // new ids appended in one block; known ids (an image embedded again) overwritten in place
    const fresh: number[] = [];
    s.ids.forEach((id, r) => {
      if (this.dead.has(id)) return;
      const slot = this.slotOf.get(id);
      if (slot === undefined) fresh.push(r);
      else this.matrix!.set(slot, s.data.subarray(r * pd, (r + 1) * pd), s.scales[r]!);
    });
    if (!fresh.length) return;
    const data = new Int8Array(fresh.length * pd);
    const scales = new Float32Array(fresh.length);
    fresh.forEach((r, i) => {
      data.set(s.data.subarray(r * pd, (r + 1) * pd), i * pd);
      scales[i] = s.scales[r]!;
    });
    const first = this.matrix.append(data, scales);
    fresh.forEach((r, i) => {
      this.ids[first + i] = s.ids[r]!;
      this.slotOf.set(s.ids[r]!, first + i);
    });
  }

  /** Deleted images: their rows stop ranking at once (the slots are reused on the next load). */
  remove(ids: readonly string[]): void {
    for (const id of ids) {
      this.dead.add(id);
      const slot = this.slotOf.get(id);
      if (slot === undefined) continue;
      this.matrix!.set(slot, null, 0);
      this.slotOf.delete(id);
      this.ids[slot] = '';
    }
  }

  /** The images of `ids` that have no vector of this model yet, in the order given. */
  missing(ids: readonly string[]): string[] {
    return ids.filter((id) => !this.slotOf.has(id));
  }

  query(vector: ArrayLike<number>, o: QueryOptions): Ranked {
    if (!this.matrix || this.count === 0) return { ids: [], scores: [] };
    if (vector.length !== this.dim) throw new Error(`the query has ${vector.length} dimensions, the index of ${this.model} ${this.dim}`);
    const q = quantizeQuery(vector);
    const scores = this.matrix.scores(q.data);
    let allow: Uint8Array | undefined;
    if (o.allow) {
      allow = new Uint8Array(this.matrix.count);
      for (const id of o.allow) {
        const slot = this.slotOf.get(id);
        if (slot !== undefined) allow[slot] = 1;
      }
    }
    const skip = o.exclude?.length ? new Set(o.exclude.map((id) => this.slotOf.get(id)).filter((s): s is number => s !== undefined)) : undefined;
    const top = topK(scores, o.k, allow, skip);
    return { ids: [...top.slots].map((s) => this.ids[s]!), scores: [...top.scores].map((s) => s * q.scale) };
  }

  /** The mean direction of some images' vectors (find similar to a selection); null if none has one. */
  centroid(ids: readonly string[]): Float32Array | null {
    const sum = new Float32Array(this.dim);
    let n = 0;
    for (const id of ids) {
      const slot = this.slotOf.get(id);
      if (slot === undefined) continue;
      const row = this.matrix!.row(slot);
      const v = dequantize(row.data, row.scale, this.dim);
      for (let i = 0; i < this.dim; i++) sum[i]! += v[i]!;
      n++;
    }
    return n ? sum : null;
  }

  /** Cosine of each pair of images; NaN where either has no vector. */
  pairScores(pairs: readonly (readonly [string, string])[]): number[] {
    return pairs.map(([a, b]) => {
      const sa = this.slotOf.get(a);
      const sb = this.slotOf.get(b);
      if (sa === undefined || sb === undefined) return NaN;
      const ra = this.matrix!.row(sa);
      const rb = this.matrix!.row(sb);
      return cosineI8(ra.data, ra.scale, rb.data, rb.scale);
    });
  }
}
