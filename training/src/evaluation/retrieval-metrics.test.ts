import { describe, expect, it } from "vitest";
import { evaluateRetrieval, popularityBaseline } from "./retrieval-metrics.js";

const sets = (entries: [number, number[]][]): Map<number, Set<number>> => new Map(entries.map(([k, v]) => [k, new Set(v)]));

describe("evaluateRetrieval", () => {
  it("excludes training items and scores two users (hand-computed)", () => {
    // Items i0 (1,0), i1 (.8,.6), i2 (.6,.8), i3 (0,1); user0 (1,0), user1 (0,1).
    // user0: scores 1, .8, .6, 0; i0 was seen in training, so it leaves the ranking and the positives:
    //   ranking i1, i2, i3; relevant {i2} at rank 2 → recall 1, AP = 1/2, NDCG = (1/log2 3) / 1 = 0.63093.
    // user1: ranking i3, i2, i1, i0; relevant {i1, i0} at ranks 3 and 4 → recall 1,
    //   AP = (1/2)(1/3 + 2/4) = 0.41667, NDCG = (1/log2 4 + 1/log2 5) / (1 + 1/log2 3) = 0.93068 / 1.63093 = 0.57064.
    const metrics = evaluateRetrieval({
      userEmbeddings: new Float32Array([1, 0, 0, 1]),
      itemEmbeddings: new Float32Array([1, 0, 0.8, 0.6, 0.6, 0.8, 0, 1]),
      dim: 2,
      testPositives: sets([[0, [2, 0]], [1, [1, 0]]]),
      trainSeen: sets([[0, [0]]]),
    });
    expect(metrics.users).toBe(2);
    expect(metrics["recall@5"]).toBe(1);
    expect(metrics["recall@20"]).toBe(1);
    expect(metrics["map@10"]).toBeCloseTo((0.5 + 0.416667) / 2, 5);
    expect(metrics["ndcg@10"]).toBeCloseTo((0.63093 + 0.57064) / 2, 4);
  });

  it("separates the cut-offs 5, 10 and 20 (hand-computed)", () => {
    // 25 items on a line with descending scores for the single user: item j is ranked j + 1.
    // Positives {3, 7, 15, 22} at ranks 4, 8, 16, 23:
    //   recall@5 = 1/4, recall@10 = 2/4, recall@20 = 3/4;
    //   AP@10 = (1 / min(4, 10)) (1/4 + 2/8) = 0.125;
    //   NDCG@10 = (1/log2 5 + 1/log2 9) / (1 + 1/log2 3 + 1/log2 4 + 1/log2 5) = 0.746142 / 2.561607 = 0.291279.
    const perUser: [number, number, number][] = [];
    const metrics = evaluateRetrieval({
      userEmbeddings: new Float32Array([1]),
      itemEmbeddings: Float32Array.from({ length: 25 }, (_, j) => (25 - j) / 25),
      dim: 1,
      testPositives: sets([[0, [3, 7, 15, 22]]]),
      trainSeen: new Map(),
      onUser: (user, hitsAt10, relevant) => perUser.push([user, hitsAt10, relevant]),
    });
    // Two of the four positives are in the top 10 (ranks 4 and 8): what the bias check counts.
    expect(perUser).toEqual([[0, 2, 4]]);
    expect(metrics).toEqual({
      "recall@5": 0.25,
      "recall@10": 0.5,
      "recall@20": 0.75,
      "map@10": 0.125,
      "ndcg@10": expect.closeTo(0.291279, 5),
      users: 1,
    });
  });

  it("rejects mismatched shapes and out-of-range rows", () => {
    const base = { testPositives: sets([[0, [0]]]), trainSeen: new Map() };
    expect(() => evaluateRetrieval({ ...base, userEmbeddings: new Float32Array(3), itemEmbeddings: new Float32Array(4), dim: 2 })).toThrow(
      /multiples of dim 2/,
    );
    expect(() =>
      evaluateRetrieval({ ...base, testPositives: sets([[5, [0]]]), userEmbeddings: new Float32Array(2), itemEmbeddings: new Float32Array(2), dim: 2 }),
    ).toThrow("user row 5 is outside 0..0");
  });
});

describe("popularityBaseline", () => {
  it("ranks unseen items by training popularity, ties to the lower row (hand-computed)", () => {
    // Popularity [5, 9, 9, 1].
    // user0 saw i1: ranking i2, i0, i3; positive i2 at rank 1 → AP 1, NDCG 1.
    // user1 saw nothing: ranking i1, i2 (tie, lower row first), i0, i3; positive i3 at rank 4 → AP 1/4, NDCG 1/log2 5.
    // user2's only positive was seen in training: not evaluated.
    const metrics = popularityBaseline({
      itemPopularity: new Float64Array([5, 9, 9, 1]),
      itemCount: 4,
      testPositives: sets([[0, [2]], [1, [3]], [2, [1]]]),
      trainSeen: sets([[0, [1]], [2, [1]]]),
    });
    expect(metrics.users).toBe(2);
    expect(metrics["recall@5"]).toBe(1);
    expect(metrics["map@10"]).toBeCloseTo((1 + 0.25) / 2, 10);
    expect(metrics["ndcg@10"]).toBeCloseTo((1 + 1 / Math.log2(5)) / 2, 10);
  });

  it("recall@5 misses a positive ranked sixth (hand-computed)", () => {
    // Popularity 10, 9, ..., 1: the positive item 5 is ranked 6th → recall@5 0, recall@10 1, AP 1/6.
    const metrics = popularityBaseline({
      itemPopularity: Float64Array.from({ length: 10 }, (_, i) => 10 - i),
      itemCount: 10,
      testPositives: sets([[0, [5]]]),
      trainSeen: new Map(),
    });
    expect(metrics["recall@5"]).toBe(0);
    expect(metrics["recall@10"]).toBe(1);
    expect(metrics["map@10"]).toBeCloseTo(1 / 6, 10);
  });

  it("names the mismatch when popularity and item count disagree", () => {
    expect(() => popularityBaseline({ itemPopularity: new Float64Array(3), itemCount: 4, testPositives: new Map(), trainSeen: new Map() })).toThrow(
      "itemPopularity has 3 entries but itemCount is 4",
    );
  });
});
