import { createSeededRandom } from "../data/seeded-random.js";

/**
 * Top-k similar-user accuracy: for each query user, the fraction of its k nearest other users (by dot product
 * of L2-normalised embeddings) that share its label (the latent segment), averaged over queries. Ties go to the
 * lower row. The cost is O(queries × users × dim), so `maxQueries` samples query users (seeded) on large sets;
 * neighbours are always searched among all users.
 */
export function similarUserAccuracy(args: {
  userEmbeddings: Float32Array;
  dim: number;
  labels: string[];
  k: number;
  maxQueries?: number;
  seed?: number;
}): number {
  const { userEmbeddings: emb, dim, labels, k } = args;
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`similarUserAccuracy: dim must be an integer >= 1, got ${dim}`);
  const n = emb.length / dim;
  if (!Number.isInteger(n) || n !== labels.length) {
    throw new RangeError(`similarUserAccuracy: ${emb.length / dim} embedding rows but ${labels.length} labels`);
  }
  if (!Number.isInteger(k) || k < 1 || k > n - 1) {
    throw new RangeError(`similarUserAccuracy: k must be an integer in 1..${n - 1} (users - 1), got ${k}`);
  }
  let queries = Array.from({ length: n }, (_, i) => i);
  if (args.maxQueries !== undefined && args.maxQueries < n) {
    queries = createSeededRandom(args.seed ?? 0).shuffle(queries).slice(0, args.maxQueries);
  }
  const top = new Int32Array(k);
  const topScores = new Float64Array(k);
  let total = 0;
  for (const q of queries) {
    let filled = 0;
    const qOffset = q * dim;
    for (let other = 0; other < n; other++) {
      if (other === q) continue;
      let s = 0;
      const oOffset = other * dim;
      for (let d = 0; d < dim; d++) s += emb[qOffset + d]! * emb[oOffset + d]!;
      if (filled === k && !(s > topScores[k - 1]!)) continue;
      let pos = filled < k ? filled++ : k - 1;
      while (pos > 0 && s > topScores[pos - 1]!) {
        top[pos] = top[pos - 1]!;
        topScores[pos] = topScores[pos - 1]!;
        pos--;
      }
      top[pos] = other;
      topScores[pos] = s;
    }
    let same = 0;
    for (let i = 0; i < k; i++) if (labels[top[i]!] === labels[q]) same++;
    total += same / k;
  }
  return total / queries.length;
}
