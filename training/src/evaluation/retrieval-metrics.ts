import { exactTopK, topKOfScores } from "@funnel/vector-index/top-k";

export interface RetrievalMetrics {
  "recall@5": number;
  "recall@10": number;
  "recall@20": number;
  "map@10": number;
  "ndcg@10": number;
  /** Users evaluated: those with at least one test positive not already seen in training. */
  users: number;
}

/** Deepest cut-off of the metrics (recall@20). */
const MAX_K = 20;

/**
 * Ranking metrics over the full item set. Items a user met in training are removed from both the ranking and
 * the positives (they would otherwise reward memorising history). Ties go to the lower item row, so results
 * are deterministic.
 * - recall@k = |top-k ∩ positives| / |positives|
 * - map@10   = mean over users of AP@10 = (1 / min(|positives|, 10)) Σ_{i≤10, hit at i} precision@i
 * - ndcg@10  = DCG@10 / IDCG@10 with binary gains and discount 1 / log2(i + 1) for 1-based rank i
 *
 * The top items come from vector-index's exactTopK, the loop the exact index serves with, over all scored
 * users at once: what is measured here is what exact search returns.
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
  return rankAndScore(args.testPositives, args.trainSeen, itemCount, (users) => {
    const queries = new Float32Array(users.length * dim);
    users.forEach((user, q) => {
      if (user < 0 || user >= userCount) throw new RangeError(`evaluateRetrieval: user row ${user} is outside 0..${userCount - 1}`);
      queries.set(userEmbeddings.subarray(user * dim, (user + 1) * dim), q * dim);
    });
    const seen = users.map((user) => args.trainSeen.get(user));
    return exactTopK(queries, itemEmbeddings, MAX_K, { dim, skip: (q, row) => seen[q]?.has(row) === true }).map((top) => top.rows);
  }, args.onUser);
}

/** The metrics that are means over scored users, each user's own value of them. */
export const USER_METRIC_KEYS = ["recall@5", "recall@10", "recall@20", "map@10", "ndcg@10"] as const;
export type UserMetricKey = (typeof USER_METRIC_KEYS)[number];
export type UserMetricValues = Record<UserMetricKey, number>;

/**
 * A scored user's row, its held-out items found in the top 10, how many it had to find, and its own metric values
 * (whose means are the RetrievalMetrics): what paired comparisons between rankers resample.
 */
export type UserHitsListener = (user: number, hitsAt10: number, relevant: number, values: UserMetricValues) => void;

/** The same metrics for "recommend the most popular unseen items" (popularity counted on training data). */
export function popularityBaseline(args: {
  itemPopularity: Float64Array;
  itemCount: number;
  testPositives: Map<number, Set<number>>;
  trainSeen: Map<number, Set<number>>;
  onUser?: UserHitsListener;
}): RetrievalMetrics {
  if (args.itemPopularity.length !== args.itemCount) {
    throw new RangeError(
      `popularityBaseline: itemPopularity has ${args.itemPopularity.length} entries but itemCount is ${args.itemCount}`,
    );
  }
  return rankAndScore(args.testPositives, args.trainSeen, args.itemCount, topOfScores(args.trainSeen, () => args.itemPopularity), args.onUser);
}

/**
 * Per-user scores → the `rankTop` of rankAndScore: each user's top MAX_K unseen items by vector-index's
 * topKOfScores (the exact top-k's heap and tie rule). For baselines that score every item per user.
 */
export function topOfScores(
  trainSeen: Map<number, Set<number>>,
  scoresFor: (user: number) => ArrayLike<number>,
): (users: readonly number[]) => ArrayLike<number>[] {
  return (users) =>
    users.map((user) => {
      const seen = trainSeen.get(user);
      return topKOfScores(scoresFor(user), MAX_K, seen ? (row) => seen.has(row) : undefined).rows;
    });
}

/**
 * Shared by model and baselines so all are measured by exactly the same code. `rankTop` returns, for the users
 * that have a relevant positive (in the order given), their best unseen item rows, best first, at most MAX_K.
 */
export function rankAndScore(
  testPositives: Map<number, Set<number>>,
  trainSeen: Map<number, Set<number>>,
  itemCount: number,
  rankTop: (users: readonly number[]) => ArrayLike<number>[],
  onUser?: UserHitsListener,
): RetrievalMetrics {
  const scored: number[] = [];
  const relevantOf: Set<number>[] = [];
  for (const [user, positives] of testPositives) {
    const seen = trainSeen.get(user);
    const relevant = new Set<number>();
    for (const item of positives) {
      if (item < 0 || item >= itemCount) throw new RangeError(`test positive item row ${item} is outside 0..${itemCount - 1}`);
      if (!seen?.has(item)) relevant.add(item);
    }
    if (relevant.size === 0) continue;
    scored.push(user);
    relevantOf.push(relevant);
  }
  const tops = scored.length === 0 ? [] : rankTop(scored);
  const totals = { r5: 0, r10: 0, r20: 0, map: 0, ndcg: 0 };
  scored.forEach((user, u) => {
    const relevant = relevantOf[u]!;
    const top = tops[u]!;
    const filled = Math.min(top.length, MAX_K);
    let hits = 0;
    let hitsAt10 = 0;
    let precisionSum = 0;
    let dcg = 0;
    let r5 = Number.NaN;
    let r10 = Number.NaN;
    for (let rank = 1; rank <= filled; rank++) {
      if (relevant.has(top[rank - 1]!)) {
        hits++;
        if (rank <= 10) {
          precisionSum += hits / rank;
          dcg += 1 / Math.log2(rank + 1);
        }
      }
      if (rank === 5) r5 = hits / relevant.size;
      if (rank === 10) r10 = hits / relevant.size;
      if (rank === 10 || (rank === filled && filled < 10)) hitsAt10 = hits;
    }
    // With fewer candidates than k, the cut-offs above were never reached: all candidates are the top k.
    if (filled < 5) r5 = hits / relevant.size;
    if (filled < 10) r10 = hits / relevant.size;
    const ideal = Math.min(relevant.size, 10);
    let idcg = 0;
    for (let rank = 1; rank <= ideal; rank++) idcg += 1 / Math.log2(rank + 1);
    const values: UserMetricValues = { "recall@5": r5, "recall@10": r10, "recall@20": hits / relevant.size, "map@10": precisionSum / ideal, "ndcg@10": dcg / idcg };
    onUser?.(user, hitsAt10, relevant.size, values);
    totals.r5 += values["recall@5"];
    totals.r10 += values["recall@10"];
    totals.r20 += values["recall@20"];
    totals.map += values["map@10"];
    totals.ndcg += values["ndcg@10"];
  });
  const users = scored.length;
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
