import { describe, expect, it } from "vitest";
import type { SentimentScore } from "../src/scoring/index.js";
import { chooseOverrideMargin, fitHybridPolicy, fitLogistic, type ScoredRow } from "./fit-hybrid-policy.js";

function rules(score: number, unsure = false, rule = "lexicon"): SentimentScore {
  return {
    label: score > 0 ? "positive" : "negative",
    score,
    confidence: unsure ? 0.1 : 0.8,
    method: "rules",
    contributions: [{ term: "x", weight: score, rule }],
    ruleSetVersion: "test",
    unsure,
    language: "eng",
    unsupportedLanguage: false,
  };
}

/** Deterministic pseudo-random numbers (mulberry32), so the synthetic data is the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe("fitLogistic", () => {
  it("recovers the coefficients that generated the labels", () => {
    const next = random(1);
    const features: number[][] = [];
    const labels: (0 | 1)[] = [];
    for (let i = 0; i < 20_000; i++) {
      const x = [next() * 8 - 4, next() * 2 - 1];
      const p = 1 / (1 + Math.exp(-(1.5 * x[0]! - 2 * x[1]! + 0.5)));
      features.push(x);
      labels.push(next() < p ? 1 : 0);
    }
    const [a, b, c] = fitLogistic(features, labels);
    expect(a).toBeCloseTo(1.5, 0);
    expect(b).toBeCloseTo(-2, 0);
    expect(c).toBeCloseTo(0.5, 0);
  });

  it("refuses to fit on no rows", () => {
    expect(() => fitLogistic([], [])).toThrow(/no validation rows/);
  });
});

describe("chooseOverrideMargin", () => {
  const plain = { phraseRulesDecide: false, rulesKeepConfidence: null };
  // Confident rules right on every text; the transformer right only from |margin| 5 on in one set.
  const row = (margin: number, label: 0 | 1, rulesRight: boolean): ScoredRow => ({ label, margin: label === 1 ? margin : -margin, rules: rules(rulesRight === (label === 1) ? 0.6 : -0.6) });
  const inDomain = [1, 2, 3, 4, 5, 6].flatMap((m) => [row(m, 1, false), row(m, 0, true)]);
  const otherDomain = [
    ...[1, 2, 3, 4].flatMap((m) => [row(-m, 1, true), row(m, 0, true)]),
    ...[5, 6].flatMap((m) => [row(m, 1, true), row(m, 0, true)]),
  ];

  it("picks the smallest margin where the transformer is at least as accurate as the rules in every set", () => {
    expect(chooseOverrideMargin([inDomain], plain).margin).toBe(1);
    expect(chooseOverrideMargin([inDomain, otherDomain], plain).margin).toBe(5);
  });

  it("answers null when no margin qualifies in every set", () => {
    const hopeless = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((m) => row(-m, 1, true));
    expect(chooseOverrideMargin([hopeless], plain).margin).toBeNull();
  });

  it("leaves texts on a phrase rule out of the comparison when the rules keep them", () => {
    const phrase = [1, 2, 3].map((m): ScoredRow => ({ label: 1, margin: -m, rules: rules(0.6, false, "page.payment.double-charge") }));
    expect(chooseOverrideMargin([phrase], { ...plain, phraseRulesDecide: true }).margin).toBe(1);
    expect(chooseOverrideMargin([phrase], plain).margin).toBe(4);
    // Rules kept from confidence 0.8 on (these rows have 0.8) never meet the transformer either.
    expect(chooseOverrideMargin([phrase], { ...plain, rulesKeepConfidence: 0.8 }).margin).toBe(1);
  });
});

describe("fitHybridPolicy", () => {
  it("fits the combination on the in-domain rows it will decide and keeps the chosen margin", () => {
    const next = random(2);
    const validation: ScoredRow[] = Array.from({ length: 2_000 }, () => {
      const label: 0 | 1 = next() < 0.5 ? 0 : 1;
      const sign = label === 1 ? 1 : -1;
      return { label, margin: sign * (next() * 10) - sign * 2, rules: rules(sign * (next() * 0.6) + (next() - 0.5) * 0.4, next() < 0.4) };
    });
    const { policy, combinationRows } = fitHybridPolicy({ version: "t.v1", ruleSetVersion: "test", validation, guards: [], phraseRulesDecide: true, rulesKeepConfidence: null });
    expect(policy).toMatchObject({ version: "t.v1", ruleSetVersion: "test", phraseRulesDecide: true, marginClip: 10 });
    expect(policy.overrideMargin).not.toBeNull();
    expect(combinationRows).toBeGreaterThan(0);
    expect(combinationRows).toBeLessThan(validation.length);
    // Both inputs carry signal about the label, so both get a positive weight.
    expect(policy.combination.transformerMargin).toBeGreaterThan(0);
    expect(policy.combination.rulesScore).toBeGreaterThan(0);
  });
});
