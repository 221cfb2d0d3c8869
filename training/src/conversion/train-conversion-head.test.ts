import { describe, expect, it } from "vitest";
import { scoreProbabilities } from "./train-conversion-head.js";

describe("scoreProbabilities", () => {
  it("gives AUC 1 for a perfect ranking, 0.5 for ties, and bins the reliability curve", () => {
    expect(scoreProbabilities([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]).auc).toBe(1);
    expect(scoreProbabilities([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]).auc).toBe(0.5);
    const s = scoreProbabilities([0.05, 0.05, 0.95, 0.95], [0, 1, 1, 1]);
    expect(s.reliability).toEqual([
      { predicted: 0.05, observed: 0.5, count: 2 },
      { predicted: 0.95, observed: 1, count: 2 },
    ]);
    expect(s.ece).toBeCloseTo(0.5 * 0.45 + 0.5 * 0.05, 10);
    expect(s.brier).toBeCloseTo((0.05 ** 2 + 0.95 ** 2 + 0.05 ** 2 * 2) / 4, 10);
  });
});
