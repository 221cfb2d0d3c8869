/** mulberry32: a tiny seeded generator, so test data and benchmark data are the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` unit vectors, row-major. With `clusters`, points scatter around that many random centres (`spread`
 * is the noise scale), which is closer to trained embeddings than uniform noise on the sphere.
 */
export function randomUnitVectors(count: number, dim: number, seed: number, clusters = 0, spread = 0.35): Float32Array {
  const random = seededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: clusters }, () => Float64Array.from({ length: dim }, gaussian));
  const out = new Float32Array(count * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    const centre = clusters > 0 ? centres[Math.floor(random() * clusters)]! : undefined;
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      row[d] = (centre ? centre[d]! : 0) + (centre ? spread : 1) * gaussian();
      norm += row[d]! * row[d]!;
    }
    const scale = 1 / Math.sqrt(norm);
    for (let d = 0; d < dim; d++) out[i * dim + d] = row[d]! * scale;
  }
  return out;
}

/** Row views (no copy) of a row-major matrix. */
export function rowsOf(matrix: Float32Array, dim: number): Float32Array[] {
  return Array.from({ length: matrix.length / dim }, (_, i) => matrix.subarray(i * dim, (i + 1) * dim));
}
