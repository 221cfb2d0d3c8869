import { describe, expect, it } from "vitest";
import { createSeededRandom } from "../data/seeded-random.js";
import { compareRankers } from "./compare-rankers.js";
import { fitEase, itemToItemBaseline } from "./item-to-item-baselines.js";
import { pairedBootstrap } from "./paired-bootstrap.js";
import { collectPerUser } from "./per-user-metrics.js";
import { evaluateRetrieval, popularityBaseline } from "./retrieval-metrics.js";

/** Users who each like one of `groups` blocks of items; history and positives drawn from their block. */
function blockData(users: number, items: number, groups: number, seed: number) {
  const rng = createSeededRandom(seed);
  const seen = new Map<number, Set<number>>();
  const positives = new Map<number, Set<number>>();
  const block = items / groups;
  for (let u = 0; u < users; u++) {
    const g = u % groups;
    const draw = (): number => g * block + rng.int(block);
    seen.set(u, new Set([draw(), draw(), draw(), draw()]));
    positives.set(u, new Set([draw()]));
  }
  return { seen, positives };
}

describe("pairedBootstrap", () => {
  it("puts 0 inside the interval of a model against itself, scored twice by the real scorer", () => {
    const rng = createSeededRandom(3);
    const dim = 8;
    const { seen, positives } = blockData(300, 120, 6, 4);
    const userEmbeddings = Float32Array.from({ length: 300 * dim }, () => rng.normal());
    const itemEmbeddings = Float32Array.from({ length: 120 * dim }, () => rng.normal());
    const score = () => {
      const c = collectPerUser();
      evaluateRetrieval({ userEmbeddings, itemEmbeddings, dim, testPositives: positives, trainSeen: seen, onUser: c.onUser });
      return c.perUser;
    };
    const a = score();
    const comparison = compareRankers(a, { itself: score() }, { resamples: 500, seed: 1 });
    for (const metric of ["recall@10", "ndcg@10"] as const) {
      const i = comparison.itself![metric]!;
      expect(i.low).toBeLessThanOrEqual(0);
      expect(i.high).toBeGreaterThanOrEqual(0);
      expect(i.verdict).toBe("tie within noise");
      expect(i.users).toBe(a.users.length);
    }
  });

  it("says ahead for a ranker that knows the users' blocks and behind for the reverse", async () => {
    const { seen, positives } = blockData(400, 200, 5, 9);
    const ease = collectPerUser();
    const pop = collectPerUser();
    const itemPopularity = new Float64Array(200);
    for (const items of seen.values()) for (const i of items) itemPopularity[i]! += 1;
    itemToItemBaseline({ model: await fitEase(seen, 200, 10), testPositives: positives, trainSeen: seen, onUser: ease.onUser });
    popularityBaseline({ itemPopularity, itemCount: 200, testPositives: positives, trainSeen: seen, onUser: pop.onUser });
    const ahead = compareRankers(ease.perUser, { popularity: pop.perUser }, { resamples: 500 }).popularity!["recall@10"]!;
    expect(ahead.verdict).toBe("ahead");
    expect(ahead.low).toBeGreaterThan(0);
    const behind = compareRankers(pop.perUser, { ease: ease.perUser }, { resamples: 500 }).ease!["recall@10"]!;
    expect(behind.verdict).toBe("behind");
    expect(behind.mean).toBeCloseTo(-ahead.mean, 12);
  });

  it("covers a known mean difference at about the normal-theory width, deterministically for a seed", () => {
    const rng = createSeededRandom(11);
    const n = 2000;
    const a = Array.from({ length: n }, () => 0.05 + rng.normal());
    const b = new Array<number>(n).fill(0);
    const i = pairedBootstrap(a, b, { resamples: 2000, seed: 5 });
    const mean = a.reduce((x, y) => x + y, 0) / n;
    const sd = Math.sqrt(a.reduce((x, y) => x + (y - mean) ** 2, 0) / (n - 1));
    expect(i.mean).toBeCloseTo(mean, 12);
    expect(i.low).toBeLessThan(mean);
    expect(i.high).toBeGreaterThan(mean);
    // Percentile bootstrap of a mean ≈ mean ± 1.96 sd / √n.
    expect((i.high - i.low) / (2 * 1.96 * sd / Math.sqrt(n))).toBeGreaterThan(0.9);
    expect((i.high - i.low) / (2 * 1.96 * sd / Math.sqrt(n))).toBeLessThan(1.1);
    expect(pairedBootstrap(a, b, { resamples: 2000, seed: 5 })).toEqual(i);
  });

  it("refuses unpaired inputs and rankers scored on different users", () => {
    expect(() => pairedBootstrap([1, 2], [1])).toThrow(/pair the same users/);
    const a = { users: [0, 1], values: { "recall@5": [0, 0], "recall@10": [0, 1], "recall@20": [0, 1], "map@10": [0, 0], "ndcg@10": [0, 1] } };
    const b = { ...a, users: [0, 2] };
    expect(() => compareRankers(a, { b })).toThrow(/scored different users/);
  });
});
