// Evaluation ranks through vector-index's top-k (exactTopK, topKOfScores) since the baselines and the model
// share one top-k interface with serving. This holds the metrics to the ranking loop evaluation used before
// (kept below as the reference) on small random cases full of ties, for the model and every baseline.
import { describe, expect, it } from "vitest";
import { createSeededRandom, type SeededRandom } from "../data/seeded-random.js";
import { fitEase, fitItemKnn, itemToItemBaseline } from "./item-to-item-baselines.js";
import { evaluateRetrieval, popularityBaseline, type RetrievalMetrics } from "./retrieval-metrics.js";

const MAX_K = 20;

/** The ranking and metrics loop of training/src/evaluation before the change (partial insertion sort per user). */
function referenceRankAndScore(
  testPositives: Map<number, Set<number>>,
  trainSeen: Map<number, Set<number>>,
  itemCount: number,
  scoresFor: (user: number) => ArrayLike<number>,
): RetrievalMetrics {
  const totals = { r5: 0, r10: 0, r20: 0, map: 0, ndcg: 0 };
  let users = 0;
  const top = new Int32Array(MAX_K);
  const topScores = new Float64Array(MAX_K);
  for (const [user, positives] of testPositives) {
    const seen = trainSeen.get(user);
    const relevant = new Set<number>();
    for (const item of positives) if (!seen?.has(item)) relevant.add(item);
    if (relevant.size === 0) continue;
    users++;
    const scores = scoresFor(user);
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
    }
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
  return { "recall@5": mean(totals.r5), "recall@10": mean(totals.r10), "recall@20": mean(totals.r20), "map@10": mean(totals.map), "ndcg@10": mean(totals.ndcg), users };
}

/** Random histories and held-out items; some users see almost every item (fewer candidates than 20). */
function randomCase(rng: SeededRandom, userCount: number, itemCount: number) {
  const seen = new Map<number, Set<number>>();
  const positives = new Map<number, Set<number>>();
  for (let u = 0; u < userCount; u++) {
    const share = u % 7 === 0 ? 0.97 : 0.15;
    const history = new Set<number>();
    for (let i = 0; i < itemCount; i++) if (rng.next() < share) history.add(i);
    if (history.size > 0) seen.set(u, history);
    const held = new Set<number>();
    for (let k = 0; k < 1 + rng.int(3); k++) held.add(rng.int(itemCount));
    positives.set(u, held);
  }
  return { seen, positives };
}

describe("evaluation through vector-index's top-k", () => {
  it("gives the metrics of the previous ranking loop for the model, popularity, item-kNN and EASE", async () => {
    for (const seed of [1, 2, 3]) {
      const rng = createSeededRandom(seed);
      const userCount = 60;
      const itemCount = 45;
      const dim = 4;
      const { seen, positives } = randomCase(rng, userCount, itemCount);
      // Coarse values (multiples of 1/4) so many items tie exactly: the tie rule (lower row first) is exercised.
      const coarse = (n: number) => Float32Array.from({ length: n }, () => rng.int(5) / 4 - 0.5);
      const userEmbeddings = coarse(userCount * dim);
      const itemEmbeddings = coarse(itemCount * dim);
      const dot = (user: number) =>
        Float64Array.from({ length: itemCount }, (_, item) => {
          let s = 0;
          for (let d = 0; d < dim; d++) s += userEmbeddings[user * dim + d]! * itemEmbeddings[item * dim + d]!;
          return s;
        });
      expect(evaluateRetrieval({ userEmbeddings, itemEmbeddings, dim, testPositives: positives, trainSeen: seen })).toEqual(
        referenceRankAndScore(positives, seen, itemCount, dot),
      );

      const itemPopularity = Float64Array.from({ length: itemCount }, () => rng.int(6));
      expect(popularityBaseline({ itemPopularity, itemCount, testPositives: positives, trainSeen: seen })).toEqual(
        referenceRankAndScore(positives, seen, itemCount, () => itemPopularity),
      );

      for (const model of [fitItemKnn(seen, itemCount, 5), await fitEase(seen, itemCount, 10)]) {
        const scoresOf = (user: number) => {
          const scores = new Float64Array(itemCount);
          for (const i of seen.get(user) ?? []) for (let j = 0; j < itemCount; j++) scores[j]! += model.weights[i * itemCount + j]!;
          return scores;
        };
        expect(itemToItemBaseline({ model, testPositives: positives, trainSeen: seen })).toEqual(referenceRankAndScore(positives, seen, itemCount, scoresOf));
      }
    }
  });
});
