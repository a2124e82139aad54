// Seeded synthetic vectors for tests and the benchmark: clusters around random centres, as image
// embeddings cluster by subject.

/** mulberry32: a small seeded PRNG, uniform in [0, 1) */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Normal deviates (Box-Muller). */
export function gauss(r: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

export function clustered({ n, dim, clusters, spread, queries, seed }: { n: number; dim: number; clusters: number; spread: number; queries: number; seed: number }) {
  const g = gauss(rng(seed));
  const centres = Array.from({ length: clusters }, () => Array.from({ length: dim }, () => g()));
  const near = (c: number[]) => c.map((x) => x + g() * spread * 1.0);
  const vectors = Array.from({ length: n }, (_, i) => Float32Array.from(near(centres[i % clusters]!)));
  const qs = Array.from({ length: queries }, (_, i) => Float32Array.from(near(centres[(i * 7) % clusters]!)));
  return { vectors, queries: qs };
}
