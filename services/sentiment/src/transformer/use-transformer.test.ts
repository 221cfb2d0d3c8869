import { describe, expect, it } from "vitest";
import { hybridScore, useTransformer } from "./use-transformer.js";

describe("hybrid routing", () => {
  const sure = { unsure: false, confidence: 0.8, score: 0.6 };
  const weak = { unsure: false, confidence: 0.3, score: -0.2 };
  const unsure = { unsure: true, confidence: 0.9, score: 0 };

  it("sends unsure texts and texts below the threshold to the transformer", () => {
    expect(useTransformer(unsure, 0)).toBe(true);
    expect(useTransformer(weak, 0)).toBe(false);
    expect(useTransformer(weak, 0.5)).toBe(true);
    expect(useTransformer(sure, 0.5)).toBe(false);
    expect(useTransformer(sure, 1.01)).toBe(true);
  });

  it("keeps the rule score when the rules decide, blends by ruleWeight when the transformer does", () => {
    expect(hybridScore(sure, -0.9, { threshold: 0.5, ruleWeight: 0 })).toEqual({ method: "rules", score: 0.6 });
    expect(hybridScore(weak, 0.9, { threshold: 0.5, ruleWeight: 0 })).toEqual({ method: "transformer", score: 0.9 });
    const blended = hybridScore(weak, 0.1, { threshold: 0.5, ruleWeight: 0.5 });
    expect(blended.method).toBe("transformer");
    expect(blended.score).toBeCloseTo(-0.05, 10);
    // No transformer loaded: the rules answer whatever their confidence.
    expect(hybridScore(unsure, undefined, { threshold: 1, ruleWeight: 0 })).toEqual({ method: "rules", score: 0 });
  });
});
