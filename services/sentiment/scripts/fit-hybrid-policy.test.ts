import { describe, expect, it } from "vitest";
import type { SentimentScore } from "../src/scoring/index.js";
import { credit, fitHybridPolicy, fitLogistic, type ScoredRow } from "./fit-hybrid-policy.js";

function rules(score: number, unsure = false, rule = "lexicon", words = 8): SentimentScore {
  return {
    label: score > 0 ? "positive" : score < 0 ? "negative" : "neutral",
    score,
    confidence: unsure ? 0.1 : 0.8,
    method: "rules",
    contributions: [{ term: "x", weight: score, rule }],
    ruleSetVersion: "test",
    unsure,
    language: "eng",
    unsupportedLanguage: false,
    words,
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

describe("fitHybridPolicy", () => {
  // One row per text: label, the transformer's margin, the rules' score; sources named.
  const row = (source: string, label: 0 | 1, margin: number, rulesScore: number, unsure = false, rule = "lexicon", words = 8): ScoredRow => ({
    source,
    label,
    margin,
    rules: rules(rulesScore, unsure, rule, words),
  });

  it("gives a kind of case to the transformer only where it is better on the pooled rows and not worse on any source", () => {
    const rows: ScoredRow[] = [];
    for (let i = 0; i < 60; i++) {
      const label: 0 | 1 = i % 2 === 0 ? 1 : 0;
      const sign = label === 1 ? 1 : -1;
      // Neutral short texts: the rules abstain, the transformer is right 5 times in 6 on both sources.
      for (const source of ["a", "b"]) rows.push(row(source, label, (i % 6 === 0 ? -sign : sign) * 3, 0));
      // Confident short texts: the transformer is better on source a, worse on source b -> the rules keep them.
      rows.push(row("a", label, sign * 4, i % 3 === 0 ? -sign * 0.5 : sign * 0.5));
      rows.push(row("b", label, i % 3 === 0 ? -sign * 4 : sign * 4, sign * 0.5));
      rows.push(row("b", label, i % 3 === 0 ? -sign * 4 : sign * 4, sign * 0.5));
      // Confident texts on a phrase rule: the rules are always right.
      rows.push(row("a", label, -sign * 2, sign * 0.7, false, "phrase.lost-order"));
    }
    const { policy, cells } = fitHybridPolicy({ version: "t.v2", ruleSetVersion: "test", validation: rows });
    expect(policy).toMatchObject({ format: "funnel-sentiment-hybrid/v2", version: "t.v2", ruleSetVersion: "test", marginClip: 10 });
    expect(policy.cells["neutral/short"]).toBe("transformer");
    expect(policy.cells["confident/short"]).toBeUndefined();
    expect(policy.cells["confident-phrase/short"]).toBeUndefined();
    const confident = cells.find((c) => c.cell === "confident/short")!;
    expect(confident.why).toMatch(/worse on b/);
    expect(confident.sources.a!.transformer).toBeGreaterThan(confident.sources.a!.rules);
    // Cells without validation rows stay with the rules.
    expect(cells.find((c) => c.cell === "unsure/long")).toMatchObject({ n: 0, chosen: "rules" });
  });

  it("does not hand over a cell on a gain that small data cannot tell from noise", () => {
    const rows = [row("a", 1, 3, 0.5), row("a", 0, -3, 0.5), row("a", 1, 3, 0.5)];
    expect(fitHybridPolicy({ version: "t", ruleSetVersion: "test", validation: rows }).policy.cells).toEqual({});
  });

  it("counts a neutral answer as half right, never as negative", () => {
    expect([credit(0, "neutral"), credit(1, "neutral"), credit(0, "negative"), credit(1, "negative")]).toEqual([0.5, 0.5, 1, 0]);
  });

  it("fits the combination with both inputs weighted positive when both carry signal", () => {
    const next = random(2);
    const validation: ScoredRow[] = Array.from({ length: 2_000 }, (_, i) => {
      const label: 0 | 1 = next() < 0.5 ? 0 : 1;
      const sign = label === 1 ? 1 : -1;
      return row(i % 2 === 0 ? "a" : "b", label, sign * (next() * 10) - sign * 2, sign * (next() * 0.6) + (next() - 0.5) * 0.4, next() < 0.4);
    });
    const { policy, combinationRows } = fitHybridPolicy({ version: "t.v2", ruleSetVersion: "test", validation });
    expect(combinationRows).toBe(2_000);
    expect(policy.combination.transformerMargin).toBeGreaterThan(0);
    expect(policy.combination.rulesScore).toBeGreaterThan(0);
  });
});
