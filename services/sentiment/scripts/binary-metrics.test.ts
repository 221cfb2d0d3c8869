import { describe, expect, it } from "vitest";
import { BinaryMetricsAccumulator } from "./binary-metrics.js";

describe("BinaryMetricsAccumulator", () => {
  it("computes accuracy and macro-F1 from the confusion counts", () => {
    const metrics = new BinaryMetricsAccumulator();
    // truth/prediction pairs: TP, TP, FN, TN, FP
    const pairs: [0 | 1, 0 | 1][] = [[1, 1], [1, 1], [1, 0], [0, 0], [0, 1]];
    for (const [truth, predicted] of pairs) metrics.add(truth, predicted, false);
    const result = metrics.result();
    expect(result.confusion).toEqual({ truePositive: 2, falsePositive: 1, trueNegative: 1, falseNegative: 1 });
    expect(result.accuracy).toBeCloseTo(3 / 5, 12);
    const positiveF1 = (2 * 2) / (2 * 2 + 1 + 1);
    const negativeF1 = (2 * 1) / (2 * 1 + 1 + 1);
    expect(result.macroF1).toBeCloseTo((positiveF1 + negativeF1) / 2, 12);
  });

  it("is perfect when every prediction is right, and counts neutrals", () => {
    const metrics = new BinaryMetricsAccumulator();
    metrics.add(1, 1, false);
    metrics.add(0, 0, true);
    expect(metrics.result()).toMatchObject({ accuracy: 1, macroF1: 1, predictedNeutral: 1 });
  });

  it("merges partial results into totals", () => {
    const a = new BinaryMetricsAccumulator();
    const b = new BinaryMetricsAccumulator();
    a.add(1, 1, false);
    b.add(0, 1, true);
    a.merge(b);
    expect(a.result()).toMatchObject({ n: 2, accuracy: 0.5, predictedNeutral: 1 });
  });
});
