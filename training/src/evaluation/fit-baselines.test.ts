import { describe, expect, it } from "vitest";
import { createSeededRandom } from "../data/seeded-random.js";
import { DEFAULT_EASE_LAMBDA, DEFAULT_KNN_SHRINK, fitBaselines, tuneBaselines } from "./fit-baselines.js";
import { fitEase, fitItemKnn, itemToItemBaseline } from "./item-to-item-baselines.js";

/** Users with a taste for one block of items: train histories, and later validation items from the same block. */
function data(users: number, items: number, seed: number) {
  const rng = createSeededRandom(seed);
  const train = new Map<number, Set<number>>();
  const validationSeen = new Map<number, Set<number>>();
  const validationPositives = new Map<number, Set<number>>();
  for (let u = 0; u < users; u++) {
    const base = (u % 4) * (items / 4);
    // A popular head shared by everyone, plus the user's block.
    const draw = (): number => (rng.next() < 0.3 ? rng.int(5) : base + rng.int(items / 4));
    const history = new Set(Array.from({ length: 2 + rng.int(6) }, draw));
    train.set(u, history);
    validationSeen.set(u, history);
    validationPositives.set(u, new Set([draw()]));
  }
  return { train, validation: { seen: validationSeen, positives: validationPositives } };
}

describe("tuneBaselines", () => {
  it("picks the grid values with the best validation recall@10, each fitted on train only", async () => {
    const { train, validation } = data(300, 80, 2);
    const grid = { easeLambda: [1, 20, 400], knnShrink: [0, 20], knnNeighbours: [0, 5] };
    const tuning = await tuneBaselines(train, 80, validation, grid);
    expect(tuning.tuned).toBe(true);
    expect(tuning.ease).toHaveLength(3);
    expect(tuning.itemKnn).toHaveLength(4);
    // Each trial's figure is what fitting that value on train and scoring validation gives.
    const args = { testPositives: validation.positives, trainSeen: validation.seen };
    for (const t of tuning.ease) expect(t["recall@10"]).toBe(itemToItemBaseline({ model: await fitEase(train, 80, t.params.lambda!), ...args })["recall@10"]);
    for (const t of tuning.itemKnn) {
      expect(t["recall@10"]).toBe(itemToItemBaseline({ model: fitItemKnn(train, 80, t.params.shrink!, t.params.neighbours!), ...args })["recall@10"]);
    }
    const bestEase = Math.max(...tuning.ease.map((t) => t["recall@10"]));
    expect(tuning.ease.find((t) => t.params.lambda === tuning.params.easeLambda)!["recall@10"]).toBe(bestEase);
    const bestKnn = Math.max(...tuning.itemKnn.map((t) => t["recall@10"]));
    expect(tuning.itemKnn.find((t) => t.params.shrink === tuning.params.knnShrink && t.params.neighbours === tuning.params.knnNeighbours)!["recall@10"]).toBe(bestKnn);
    // The returned fit is the winners' fit on train.
    const refitted = await fitBaselines(train, 80, tuning.params);
    expect(tuning.fitted.ease.weights).toEqual(refitted.ease.weights);
    expect(tuning.fitted.itemKnn.weights).toEqual(refitted.itemKnn.weights);
  });

  it("keeps the defaults and says it did not tune when validation scores no user", async () => {
    const { train } = data(50, 40, 3);
    const tuning = await tuneBaselines(train, 40, { seen: new Map(), positives: new Map() });
    expect(tuning).toMatchObject({ tuned: false, validationUsers: 0, params: { easeLambda: DEFAULT_EASE_LAMBDA, knnShrink: DEFAULT_KNN_SHRINK, knnNeighbours: 0 } });
    expect(tuning.ease).toEqual([]);
  });

  it("keeps only each item's top neighbours when asked", () => {
    const { train } = data(100, 40, 4);
    const pruned = fitItemKnn(train, 40, 10, 3);
    for (let i = 0; i < 40; i++) expect(pruned.weights.subarray(i * 40, (i + 1) * 40).filter((w) => w !== 0).length).toBeLessThanOrEqual(3);
    const full = fitItemKnn(train, 40, 10);
    // The kept weights are each row's largest.
    for (let i = 0; i < 40; i++) {
      const row = Array.from(full.weights.subarray(i * 40, (i + 1) * 40)).sort((a, b) => b - a);
      const kept = Array.from(pruned.weights.subarray(i * 40, (i + 1) * 40)).filter((w) => w !== 0).sort((a, b) => b - a);
      expect(kept).toEqual(row.slice(0, kept.length));
    }
  });
});
