import { describe, expect, it } from "vitest";
import { fitEase, fitItemKnn, itemGram, itemToItemBaseline } from "./item-to-item-baselines.js";
import { invertSymmetricMatrix } from "./invert-symmetric-matrix.js";

// Four users over four items: 0 and 1 always bought together, 2 with 1 once, 3 alone.
const histories = new Map([
  [0, new Set([0, 1])],
  [1, new Set([0, 1, 2])],
  [2, new Set([3])],
  [3, new Set([1, 2])],
]);

describe("item-to-item baselines", () => {
  it("counts co-occurrences into XᵀX", () => {
    const g = itemGram(histories, 4);
    expect(Array.from(g)).toEqual([2, 2, 1, 0, 2, 3, 2, 0, 1, 2, 2, 0, 0, 0, 0, 1]);
    expect(itemGram({ user: Int32Array.from([0, 0, 1, 1, 1, 2, 3, 3]), item: Int32Array.from([0, 1, 0, 1, 2, 3, 1, 2]) }, 4)).toEqual(g);
  });

  it("item-kNN is the (shrunk) cosine of the items' user sets, without self-similarity", () => {
    const { weights } = fitItemKnn(histories, 4, 0);
    expect(weights[0 * 4 + 1]).toBeCloseTo(2 / Math.sqrt(2 * 3), 6);
    expect(weights[1 * 4 + 2]).toBeCloseTo(2 / Math.sqrt(3 * 2), 6);
    expect(fitItemKnn(histories, 4, 10).weights[0 * 4 + 1]).toBeCloseTo(2 / (Math.sqrt(2 * 3) + 10), 6);
    expect(weights[0 * 4 + 0]).toBe(0);
    expect(weights[3 * 4 + 0]).toBe(0);
  });

  it("inverts a symmetric positive-definite matrix through onnxruntime", async () => {
    const a = Float64Array.from([4, 1, 0, 1, 3, 1, 0, 1, 2]);
    const inv = await invertSymmetricMatrix(a, 3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += a[i * 3 + k]! * inv[k * 3 + j]!;
        expect(s).toBeCloseTo(i === j ? 1 : 0, 12);
      }
    }
    await expect(invertSymmetricMatrix(a, 2)).rejects.toThrow(/expected 2 × 2 = 4 values/);
  });

  it("EASE solves the ridge regression of each item on the others, with a zero diagonal", async () => {
    const lambda = 0.5;
    const { weights } = await fitEase(histories, 4, lambda);
    const g = itemGram(histories, 4);
    // Stationarity of ‖X − XB‖² + λ‖B‖² for column j off the diagonal: (G + λI) B[:, j] = G[:, j] except at row j.
    for (let j = 0; j < 4; j++) {
      expect(weights[j * 4 + j]).toBe(0);
      for (let i = 0; i < 4; i++) {
        if (i === j) continue;
        let lhs = lambda * weights[i * 4 + j]!;
        for (let k = 0; k < 4; k++) lhs += g[i * 4 + k]! * weights[k * 4 + j]!;
        expect(lhs).toBeCloseTo(g[i * 4 + j]!, 5);
      }
    }
    await expect(fitEase(histories, 4, 0)).rejects.toThrow(/lambda must be > 0/);
  });

  it("ranks unseen items by summed similarity to the history, through the shared metrics code", () => {
    const model = fitItemKnn(histories, 4);
    // A user who bought item 0 should be shown item 1 first (the strongest co-purchase), then 2.
    const metrics = itemToItemBaseline({ model, testPositives: new Map([[0, new Set([1])]]), trainSeen: new Map([[0, new Set([0])]]) });
    expect(metrics["recall@5"]).toBe(1);
    expect(metrics["ndcg@10"]).toBe(1);
    const second = itemToItemBaseline({ model, testPositives: new Map([[0, new Set([2])]]), trainSeen: new Map([[0, new Set([0])]]) });
    expect(second["ndcg@10"]).toBeCloseTo(1 / Math.log2(3), 10);
  });
});
