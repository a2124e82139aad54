import { describe, expect, it } from 'vitest';
import { cosineI8, dequantize, normalize, paddedDim, quantize, quantizeMany, quantizeQuery } from './quantize';
import { VectorMatrix, topK } from './kernel';
import { clustered, rng } from '@/test/vectors';

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);



describe('int8 quantisation', () => {
  it('stores a vector in one byte per dimension plus one scale, unit length', () => {
    const r = rng(1);
    const v = Array.from({ length: 768 }, () => r() - 0.5);
    const q = quantize(v);
    expect(q.data).toHaveLength(768);
    expect(Math.max(...q.data.map(Math.abs))).toBe(127);
    const back = dequantize(q.data, q.scale);
    expect(Math.hypot(...back)).toBeCloseTo(1, 2);
    expect(dot(back, normalize(v))).toBeGreaterThan(0.999);
  });

  it('pads dimensions to a multiple of 32 with zeros', () => {
    expect(paddedDim(768)).toBe(768);
    expect(paddedDim(100)).toBe(128);
    const { data, scales } = quantizeMany([[1, 2, 3], [0, 0, 1]], 3);
    expect(data).toHaveLength(64);
    expect([...data.subarray(3, 32)].every((x) => x === 0)).toBe(true);
    expect(scales[1]).toBeCloseTo(1 / 127);
    expect(() => quantizeMany([[1, 2]], 3)).toThrow(/2 dimensions, expected 3/);
  });

  it('keeps recall@10 >= 0.98 against float32 on clustered vectors', () => {
    // SigLIP 2 base's width; clusters whose members are at cosine ~0.67 from each other
    const dim = 768;
    const { vectors, queries } = clustered({ n: 5000, dim, clusters: 50, spread: 0.7, queries: 40, seed: 7 });
    const { data, scales } = quantizeMany(vectors, dim);
    const m = new VectorMatrix(dim);
    m.append(data, scales);
    const unit = new Float32Array(vectors.length * dim);
    vectors.forEach((v, i) => unit.set(normalize(v), i * dim));
    const exactScores = new Float32Array(vectors.length);
    let hit = 0;
    for (const q of queries) {
      const qu = normalize(q);
      for (let i = 0; i < vectors.length; i++) {
        let s = 0;
        for (let j = 0, b = i * dim; j < dim; j++) s += unit[b + j]! * qu[j]!;
        exactScores[i] = s;
      }
      const exact = topK(exactScores, 10).slots;
      const got = new Set(topK(m.scores(quantizeQuery(q).data), 10).slots);
      hit += exact.filter((i) => got.has(i)).length;
    }
    const recall = hit / (queries.length * 10);
    expect(recall).toBeGreaterThanOrEqual(0.98);
  }, 30_000);
});

describe('the search kernel', () => {
  it('WebAssembly SIMD and the plain loop give the same scores, the cosine times the query scale', () => {
    const dim = 96;
    const { vectors } = clustered({ n: 300, dim, clusters: 5, spread: 0.5, queries: 0, seed: 3 });
    const { data, scales } = quantizeMany(vectors, dim);
    const wasm = new VectorMatrix(dim);
    const js = new VectorMatrix(dim, { forceJs: true });
    expect(wasm.simd).toBe(true);
    expect(js.simd).toBe(false);
    wasm.append(data, scales);
    js.append(data, scales);
    const q = quantize(vectors[17]!);
    const a = wasm.scores(q.data).slice();
    const b = js.scores(q.data);
    expect([...a]).toEqual([...b]);
    expect(a[17]! * q.scale).toBeCloseTo(1, 2);
    expect(a[42]! * q.scale).toBeCloseTo(cosineI8(q.data, q.scale, data.subarray(42 * dim, 43 * dim), scales[42]!), 5);
  });

  it('keeps every row when the memory grows, and hides a removed slot', () => {
    const dim = 32;
    const m = new VectorMatrix(dim);
    const { vectors } = clustered({ n: 5000, dim, clusters: 10, spread: 0.5, queries: 0, seed: 4 });
    for (let i = 0; i < vectors.length; i += 700) {
      const { data, scales } = quantizeMany(vectors.slice(i, i + 700), dim);
      m.append(data, scales);
    }
    expect(m.count).toBe(5000);
    for (const probe of [0, 1234, 4999]) {
      const q = quantize(vectors[probe]!).data;
      expect(topK(m.scores(q), 1).slots[0]).toBe(probe);
    }
    m.set(1234, null, 0);
    expect(topK(m.scores(quantize(vectors[1234]!).data), 1).slots[0]).not.toBe(1234);
  });

  it('ranks planted vectors first, within the allowed slots', () => {
    const dim = 64;
    const r = rng(9);
    const target = Array.from({ length: dim }, () => r() - 0.5);
    const { vectors } = clustered({ n: 2000, dim, clusters: 20, spread: 0.6, queries: 0, seed: 5 });
    // three planted near-copies of the target at known slots
    const planted = [150, 900, 1999];
    planted.forEach((slot, i) => (vectors[slot] = Float32Array.from(target, (x) => x + (r() - 0.5) * 0.05 * (i + 1))));
    const m = new VectorMatrix(dim);
    const { data, scales } = quantizeMany(vectors, dim);
    m.append(data, scales);
    const scores = m.scores(quantize(target).data);
    expect([...topK(scores, 3).slots]).toEqual(planted);
    const allow = new Uint8Array(2000).fill(1);
    allow[150] = 0;
    const top = topK(scores, 5, allow);
    expect([...top.slots.slice(0, 2)]).toEqual([900, 1999]);
    expect(top.scores[0]).toBeGreaterThan(top.scores[4]!);
    expect([...topK(scores, 2, undefined, new Set([150])).slots]).toEqual([900, 1999]);
  });
});
