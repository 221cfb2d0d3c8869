export interface RetrievalMetrics {
  "recall@5": number;
  "recall@10": number;
  "recall@20": number;
  "map@10": number;
  "ndcg@10": number;
  /** Users evaluated: those with at least one test positive not already seen in training. */
  users: number;
}

const MAX_K = 20;

/**
 * Ranking metrics over the full item set. Items a user met in training are removed from both the ranking and
 * the positives (they would otherwise reward memorising history). Ties go to the lower item row, so results
 * are deterministic.
 * - recall@k = |top-k ∩ positives| / |positives|
 * - map@10   = mean over users of AP@10 = (1 / min(|positives|, 10)) Σ_{i≤10, hit at i} precision@i
 * - ndcg@10  = DCG@10 / IDCG@10 with binary gains and discount 1 / log2(i + 1) for 1-based rank i
 */
export function evaluateRetrieval(args: {
  userEmbeddings: Float32Array;
  itemEmbeddings: Float32Array;
  dim: number;
  testPositives: Map<number, Set<number>>;
  trainSeen: Map<number, Set<number>>;
  /** Called once per scored user with its hits in the top 10 (what the bias check counts per group). */
  onUser?: UserHitsListener;
}): RetrievalMetrics {
  const { userEmbeddings, itemEmbeddings, dim } = args;
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`evaluateRetrieval: dim must be an integer >= 1, got ${dim}`);
  if (userEmbeddings.length % dim !== 0 || itemEmbeddings.length % dim !== 0) {
    throw new RangeError(
      `evaluateRetrieval: embedding lengths (users ${userEmbeddings.length}, items ${itemEmbeddings.length}) must be multiples of dim ${dim}`,
    );
  }
  const userCount = userEmbeddings.length / dim;
  const itemCount = itemEmbeddings.length / dim;
  const scores = new Float64Array(itemCount);
  return rankAndScore(args.testPositives, args.trainSeen, itemCount, (user) => {
    if (user < 0 || user >= userCount) throw new RangeError(`evaluateRetrieval: user row ${user} is outside 0..${userCount - 1}`);
    const offset = user * dim;
    for (let item = 0; item < itemCount; item++) {
      let dot = 0;
      const itemOffset = item * dim;
      for (let d = 0; d < dim; d++) dot += userEmbeddings[offset + d]! * itemEmbeddings[itemOffset + d]!;
      scores[item] = dot;
    }
    return scores;
  }, args.onUser);
}

/** A scored user's row, its held-out items found in the top 10, and how many it had to find. */
export type UserHitsListener = (user: number, hitsAt10: number, relevant: number) => void;

/** The same metrics for "recommend the most popular unseen items" (popularity counted on training data). */
export function popularityBaseline(args: {
  itemPopularity: Float64Array;
  itemCount: number;
  testPositives: Map<number, Set<number>>;
  trainSeen: Map<number, Set<number>>;
}): RetrievalMetrics {
  if (args.itemPopularity.length !== args.itemCount) {
    throw new RangeError(
      `popularityBaseline: itemPopularity has ${args.itemPopularity.length} entries but itemCount is ${args.itemCount}`,
    );
  }
  return rankAndScore(args.testPositives, args.trainSeen, args.itemCount, () => args.itemPopularity);
}

/** Shared by model and baseline so both are measured by exactly the same code. */
export function rankAndScore(
  testPositives: Map<number, Set<number>>,
  trainSeen: Map<number, Set<number>>,
  itemCount: number,
  scoresFor: (user: number) => ArrayLike<number>,
  onUser?: UserHitsListener,
): RetrievalMetrics {
  const totals = { r5: 0, r10: 0, r20: 0, map: 0, ndcg: 0 };
  let users = 0;
  const top = new Int32Array(MAX_K);
  const topScores = new Float64Array(MAX_K);
  for (const [user, positives] of testPositives) {
    const seen = trainSeen.get(user);
    const relevant = new Set<number>();
    for (const item of positives) {
      if (item < 0 || item >= itemCount) throw new RangeError(`test positive item row ${item} is outside 0..${itemCount - 1}`);
      if (!seen?.has(item)) relevant.add(item);
    }
    if (relevant.size === 0) continue;
    users++;
    const scores = scoresFor(user);
    // Partial insertion sort: only the top MAX_K matter, and the list is short.
    let filled = 0;
    for (let item = 0; item < itemCount; item++) {
      if (seen?.has(item)) continue;
      const s = scores[item]!;
      if (filled === MAX_K && !(s > topScores[MAX_K - 1]!)) continue;
      let pos = filled < MAX_K ? filled++ : MAX_K - 1;
      while (pos > 0 && s > topScores[pos - 1]!) {
        top[pos] = top[pos - 1]!;
        topScores[pos] = topScores[pos - 1]!;
        pos--;
      }
      top[pos] = item;
      topScores[pos] = s;
    }
    let hits = 0;
    let hitsAt10 = 0;
    let precisionSum = 0;
    let dcg = 0;
    for (let rank = 1; rank <= filled; rank++) {
      if (relevant.has(top[rank - 1]!)) {
        hits++;
        if (rank <= 10) {
          precisionSum += hits / rank;
          dcg += 1 / Math.log2(rank + 1);
        }
      }
      if (rank === 5) totals.r5 += hits / relevant.size;
      if (rank === 10) totals.r10 += hits / relevant.size;
      if (rank === 10 || (rank === filled && filled < 10)) hitsAt10 = hits;
    }
    onUser?.(user, hitsAt10, relevant.size);
    // With fewer candidates than k, the cut-offs above were never reached: all candidates are the top k.
    if (filled < 5) totals.r5 += hits / relevant.size;
    if (filled < 10) totals.r10 += hits / relevant.size;
    totals.r20 += hits / relevant.size;
    const ideal = Math.min(relevant.size, 10);
    let idcg = 0;
    for (let rank = 1; rank <= ideal; rank++) idcg += 1 / Math.log2(rank + 1);
    totals.map += precisionSum / ideal;
    totals.ndcg += dcg / idcg;
  }
  const mean = (x: number): number => (users === 0 ? 0 : x / users);
  return {
    "recall@5": mean(totals.r5),
    "recall@10": mean(totals.r10),
    "recall@20": mean(totals.r20),
    "map@10": mean(totals.map),
    "ndcg@10": mean(totals.ndcg),
    users,
  };
}
