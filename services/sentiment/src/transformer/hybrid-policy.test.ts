import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuleScorer } from "../scoring/index.js";
import {
  cellOf,
  DEFAULT_HYBRID_POLICY,
  decideHybrid,
  HYBRID_POLICY_FILE,
  HYBRID_POLICY_FORMAT,
  type HybridPolicy,
  needsTransformer,
  policyForRules,
  readHybridPolicy,
} from "./hybrid-policy.js";
import { TransformerClassifier } from "./transformer-classifier.js";

const fitted: HybridPolicy = {
  format: HYBRID_POLICY_FORMAT,
  version: "test.v2",
  ruleSetVersion: "page-rules.v3",
  lengthBuckets: [12, 40],
  cells: { "unsure/short": "transformer", "confident/short": "combined", "neutral/long": "transformer" },
  combination: { transformerMargin: 0.5, rulesScore: 1, bias: -0.1 },
  marginClip: 10,
};

let scorer: RuleScorer;
let dir: string;
beforeAll(async () => {
  scorer = RuleScorer.load();
  dir = await mkdtemp(path.join(os.tmpdir(), "hybrid-policy-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("hybrid policy decisions", () => {
  it("the default policy is rules unless unsure or neutral, then the transformer alone", () => {
    const sure = scorer.score("I love it, works great");
    const unsure = scorer.score("the parcel came on a tuesday");
    expect(sure.unsure).toBe(false);
    expect(unsure.unsure).toBe(true);
    expect(needsTransformer(sure, DEFAULT_HYBRID_POLICY)).toBe(false);
    expect(needsTransformer(unsure, DEFAULT_HYBRID_POLICY)).toBe(true);
    expect(decideHybrid(sure, -9, DEFAULT_HYBRID_POLICY)).toEqual({ method: "rules", score: sure.score, confidence: sure.confidence, label: "positive" });
    const decided = decideHybrid(unsure, -2, DEFAULT_HYBRID_POLICY);
    expect(decided.method).toBe("transformer");
    // σ(−2) = 0.1192: score 2p − 1, confidence of the negative side.
    expect(decided.score).toBeCloseTo(2 * 0.1192 - 1, 3);
    expect(decided.confidence).toBeCloseTo(0.8808, 3);
    expect(decided.label).toBe("negative");
  });

  it("sorts texts into kinds of case: what the rules said times length", () => {
    expect(cellOf(scorer.score("the parcel came on a tuesday"), fitted)).toBe("neutral/short");
    expect(cellOf(scorer.score("a good and funny film"), fitted)).toBe("confident/short");
    expect(cellOf(scorer.score("I was charged twice"), fitted)).toBe("confident-phrase/short");
    const long = scorer.score(`${"the parcel came on a tuesday and ".repeat(8)}it was good`);
    expect(long.words).toBeGreaterThan(40);
    expect(cellOf(long, fitted)).toBe("confident/long");
  });

  it("runs the transformer only in the cells the policy gives it; elsewhere the rules' answer stands", () => {
    const sure = scorer.score("a good and funny film");
    expect(needsTransformer(sure, fitted)).toBe(true);
    const outvoted = decideHybrid(sure, -9, fitted);
    expect(outvoted.method).toBe("combined");
    // z = 0.5 · (−9) + 1 · score − 0.1 < 0
    expect(outvoted.score).toBeCloseTo(2 / (1 + Math.exp(-(0.5 * -9 + sure.score - 0.1))) - 1, 10);
    expect(outvoted.label).toBe("negative");
    const phrase = scorer.score("I was charged twice");
    expect(needsTransformer(phrase, fitted)).toBe(false);
    expect(decideHybrid(phrase, 9, fitted)).toMatchObject({ method: "rules", label: "negative" });
    // A neutral rules answer the policy keeps is an abstention, not a negative.
    const neutral = scorer.score("the parcel came on a tuesday");
    expect(decideHybrid(neutral, 3, { ...fitted, cells: {} })).toMatchObject({ method: "rules", label: "neutral" });
  });

  it("clips the margin, so a saturated logit counts like marginClip", () => {
    const sure = scorer.score("a good and funny film");
    expect(decideHybrid(sure, 500, fitted).score).toBeCloseTo(decideHybrid(sure, 10, fitted).score, 12);
  });

  it("never sends a text in a language without rules", () => {
    const german = scorer.score("Die Lieferung war schnell und das Produkt ist wirklich sehr gut verarbeitet");
    expect(german.unsupportedLanguage).toBe(true);
    expect(cellOf(german, fitted)).toBeUndefined();
    expect(needsTransformer(german, DEFAULT_HYBRID_POLICY)).toBe(false);
  });
});

describe("hybrid policy files", () => {
  it("reads the policy stored beside the model, and none when absent", async () => {
    expect(await readHybridPolicy(dir)).toBeUndefined();
    await writeFile(path.join(dir, HYBRID_POLICY_FILE), JSON.stringify(fitted));
    expect(await readHybridPolicy(dir)).toEqual(fitted);
  });

  it("names the file and field of a malformed policy", async () => {
    await writeFile(path.join(dir, HYBRID_POLICY_FILE), JSON.stringify({ ...fitted, cells: { "confident/short": "always" } }));
    await expect(readHybridPolicy(dir)).rejects.toThrow(/hybrid-policy\.json: cells\.confident\/short: /);
    await writeFile(path.join(dir, HYBRID_POLICY_FILE), JSON.stringify({ ...fitted, format: "funnel-sentiment-hybrid/v1" }));
    await expect(readHybridPolicy(dir)).rejects.toThrow(/refit the policy/);
    await writeFile(path.join(dir, HYBRID_POLICY_FILE), "{");
    await expect(readHybridPolicy(dir)).rejects.toThrow(/hybrid-policy\.json: not valid JSON/);
  });

  it("applies a fitted policy only with the rule set it was fitted for", () => {
    expect(policyForRules(fitted, "page-rules.v3")).toBe(fitted);
    expect(policyForRules(fitted, "page-rules.v2")).toBe(DEFAULT_HYBRID_POLICY);
    expect(policyForRules(undefined, "page-rules.v3")).toBe(DEFAULT_HYBRID_POLICY);
  });
});

describe("the hybrid on hand-written shop feedback with mixed signals (issue 18)", () => {
  it("gets every case right: the rules' confident answers stand, the transformer only fills in where they are unsure", async () => {
    const file = fileURLToPath(new URL("../../scripts/testdata/shop-feedback-mixed.tsv", import.meta.url));
    const rows = (await readFile(file, "utf8")).trim().split("\n").slice(1).map((line) => line.split("\t"));
    const classifier = await TransformerClassifier.load(fileURLToPath(new URL("./testdata/tiny-sentiment", import.meta.url)));
    try {
      const scores = rows.map(([text]) => scorer.score(text!));
      const predictions = await classifier.predict(rows.map(([text]) => text!));
      const wrong = rows.flatMap(([text, label], i) => {
        const decision = decideHybrid(scores[i]!, predictions[i]!.margin, DEFAULT_HYBRID_POLICY);
        return decision.label === (label === "1" ? "positive" : "negative") ? [] : [{ text, decision }];
      });
      expect(wrong).toEqual([]);
      // Only the texts the rules are unsure about reach the transformer.
      expect(scores.filter((s) => needsTransformer(s, DEFAULT_HYBRID_POLICY)).length).toBeLessThanOrEqual(2);
    } finally {
      await classifier.close();
    }
  });
});
