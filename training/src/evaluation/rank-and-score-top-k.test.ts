// Evaluation ranks through vector-index's top-k (exactTopK, topKOfScores) since the baselines and the model
// share one top-k interface with serving. This holds the metrics to the rankings of the loop evaluation used
// before (kept below as the reference) on small random cases full of ties, for the model, every baseline and
// similar-user accuracy.
import { describe, expect, it } from "vitest";
import { createSeededRandom, type SeededRandom } from "../data/seeded-random.js";
import { fitEase, fitItemKnn, itemToItemBaseline } from "./item-to-item-baselines.js";
import { evaluateRetrieval, popularityBaseline, rankAndScore, type RetrievalMetrics } from "./retrieval-metrics.js";
import { similarUserAccuracy } from "./similar-user-accuracy.js";

const MAX_K = 20;

/** The top-k loop training's evaluation used before the change: a partial insertion sort, ties to the lower row. */
function referenceTop(scores: ArrayLike<number>, count: number, skip: (row: number) => boolean, k: number): number[] {
  const top = new Int32Array(k);
  const topScores = new Float64Array(k);
  let filled = 0;
  for (let row = 0; row < count; row++) {
    if (skip(row)) continue;
    const s = scores[row]!;
    if (filled === k && !(s > topScores[k - 1]!)) continue;
    let pos = filled < k ? filled++ : k - 1;
    while (pos > 0 && s > topScores[pos - 1]!) {
      top[pos] = top[pos - 1]!;
      topScores[pos] = topScores[pos - 1]!;
      pos--;
    }
    top[pos] = row;
    topScores[pos] = s;
  }
  return Array.from(top.subarray(0, filled));
}

/**
 * The metrics of rankings made by the previous loop. The metrics arithmetic is rankAndScore's (unchanged by the
 * move, and held to hand-computed cases in retrieval-metrics.test.ts); what changed is where rankings come from.
 */
function referenceRankAndScore(
  testPositives: Map<number, Set<number>>,
  trainSeen: Map<number, Set<number>>,
  itemCount: number,
  scoresFor: (user: number) => ArrayLike<number>,
): RetrievalMetrics {
  return rankAndScore(testPositives, trainSeen, itemCount, (users) =>
    users.map((user) => referenceTop(scoresFor(user), itemCount, (item) => trainSeen.get(user)?.has(item) === true, MAX_K)),
  );
}

/** Row-major dot products of row `a` of `x` with every row of `y`, summed in double over d in order. */
function dots(x: Float32Array, a: number, y: Float32Array, dim: number): Float64Array {
  return Float64Array.from({ length: y.length / dim }, (_, b) => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += x[a * dim + d]! * y[b * dim + d]!;
    return s;
  });
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
  it("gives the metrics of the previous ranking loop for the model, popularity, item-kNN, EASE and similar users", async () => {
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
      expect(evaluateRetrieval({ userEmbeddings, itemEmbeddings, dim, testPositives: positives, trainSeen: seen })).toEqual(
        referenceRankAndScore(positives, seen, itemCount, (user) => dots(userEmbeddings, user, itemEmbeddings, dim)),
      );

      // Similar-user accuracy: the same top-k over users, without the query itself.
      const labels = Array.from({ length: userCount }, () => `segment-${rng.int(3)}`);
      let total = 0;
      for (let q = 0; q < userCount; q++) {
        const top = referenceTop(dots(userEmbeddings, q, userEmbeddings, dim), userCount, (row) => row === q, 10);
        total += top.filter((row) => labels[row] === labels[q]).length / 10;
      }
      expect(similarUserAccuracy({ userEmbeddings, dim, labels, k: 10 })).toBe(total / userCount);

      const itemPopularity = Float64Array.from({ length: itemCount }, () => rng.int(6));
      expect(popularityBaseline({ itemPopularity, itemCount, testPositives: positives, trainSeen: seen })).toEqual(
        referenceRankAndScore(positives, seen, itemCount, () => itemPopularity),
      );

      for (const model of [fitItemKnn(seen, itemCount, 5), await fitEase(seen, itemCount, 10)]) {
        // Σ of the history's weight rows, as itemToItemBaseline adds them.
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
