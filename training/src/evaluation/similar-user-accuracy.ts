import { exactTopK } from "@funnel/vector-index/top-k";
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
  // vector-index's exact top-k, the loop the exact index serves with (ties to the lower row); a user is not its own neighbour.
  const queryVectors = new Float32Array(queries.length * dim);
  queries.forEach((q, i) => {
    queryVectors.set(emb.subarray(q * dim, (q + 1) * dim), i * dim);
  });
  const tops = exactTopK(queryVectors, emb, k, { dim, skip: (i, row) => row === queries[i] });
  let total = 0;
  queries.forEach((q, i) => {
    let same = 0;
    for (const row of tops[i]!.rows) if (labels[row] === labels[q]) same++;
    total += same / k;
  });
  return total / queries.length;
}
