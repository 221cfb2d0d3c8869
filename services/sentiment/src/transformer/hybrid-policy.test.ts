import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuleScorer } from "../scoring/index.js";
import {
  DEFAULT_HYBRID_POLICY,
  decideHybrid,
  HYBRID_POLICY_FILE,
  HYBRID_POLICY_FORMAT,
  needsTransformer,
  policyForRules,
  readHybridPolicy,
  restsOnPhraseRule,
  type HybridPolicy,
} from "./hybrid-policy.js";

const fitted: HybridPolicy = {
  format: HYBRID_POLICY_FORMAT,
  version: "test.v1",
  ruleSetVersion: "page-rules.v2",
  phraseRulesDecide: true,
  rulesKeepConfidence: null,
  overrideMargin: 7,
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
  it("the default policy is rules unless unsure, then the transformer alone", () => {
    const sure = scorer.score("I love it, works great");
    const unsure = scorer.score("the parcel came on a tuesday");
    expect(sure.unsure).toBe(false);
    expect(unsure.unsure).toBe(true);
    expect(needsTransformer(sure, DEFAULT_HYBRID_POLICY)).toBe(false);
    expect(needsTransformer(unsure, DEFAULT_HYBRID_POLICY)).toBe(true);
    expect(decideHybrid(sure, -9, DEFAULT_HYBRID_POLICY)).toEqual({ method: "rules", score: sure.score, confidence: sure.confidence });
    const decided = decideHybrid(unsure, -2, DEFAULT_HYBRID_POLICY);
    expect(decided.method).toBe("transformer");
    // σ(−2) = 0.1192: score 2p − 1, confidence of the negative side.
    expect(decided.score).toBeCloseTo(2 * 0.1192 - 1, 3);
    expect(decided.confidence).toBeCloseTo(0.8808, 3);
  });

  it("keeps confident rules below the override margin and combines from it on", () => {
    // Lexicon words only (no phrase rule): the transformer may outvote these.
    const sure = scorer.score("a good and funny film");
    expect(restsOnPhraseRule(sure)).toBe(false);
    expect(needsTransformer(sure, fitted)).toBe(true);
    expect(decideHybrid(sure, -6.9, fitted).method).toBe("rules");
    const outvoted = decideHybrid(sure, -9, fitted);
    expect(outvoted.method).toBe("combined");
    // z = 0.5 · (−9) + 1 · score − 0.1 < 0
    expect(outvoted.score).toBeCloseTo(2 / (1 + Math.exp(-(0.5 * -9 + sure.score - 0.1))) - 1, 10);
    expect(outvoted.score).toBeLessThan(0);
  });

  it("keeps confident rules from rulesKeepConfidence on without running the transformer (the cost knob)", () => {
    const sure = scorer.score("a good and funny film");
    expect(needsTransformer(sure, { ...fitted, rulesKeepConfidence: sure.confidence })).toBe(false);
    expect(decideHybrid(sure, -9, { ...fitted, rulesKeepConfidence: sure.confidence }).method).toBe("rules");
    expect(needsTransformer(sure, { ...fitted, rulesKeepConfidence: sure.confidence + 0.01 })).toBe(true);
    // Unsure texts still go to the transformer whatever the knob says.
    expect(needsTransformer(scorer.score("the parcel came on a tuesday"), { ...fitted, rulesKeepConfidence: 0 })).toBe(true);
  });

  it("clips the margin, so a saturated logit counts like marginClip", () => {
    const unsure = scorer.score("the parcel came on a tuesday");
    expect(decideHybrid(unsure, 500, fitted).score).toBeCloseTo(decideHybrid(unsure, 10, fitted).score, 12);
  });

  it("leaves texts resting on a curated phrase rule to the rules without running the transformer", () => {
    const charged = scorer.score("I was charged twice", "payment");
    expect(restsOnPhraseRule(charged)).toBe(true);
    expect(charged.unsure).toBe(false);
    expect(needsTransformer(charged, fitted)).toBe(false);
    expect(decideHybrid(charged, 9, fitted).method).toBe("rules");
    expect(needsTransformer(charged, { ...fitted, phraseRulesDecide: false })).toBe(true);
  });

  it("never sends a text in a language without rules", () => {
    const german = scorer.score("Die Lieferung war schnell und das Produkt ist wirklich sehr gut verarbeitet");
    expect(german.unsupportedLanguage).toBe(true);
    expect(needsTransformer(german, fitted)).toBe(false);
  });
});

describe("hybrid policy files", () => {
  it("reads the policy stored beside the model, and none when absent", async () => {
    expect(await readHybridPolicy(dir)).toBeUndefined();
    await writeFile(path.join(dir, HYBRID_POLICY_FILE), JSON.stringify(fitted));
    expect(await readHybridPolicy(dir)).toEqual(fitted);
  });

  it("names the file and field of a malformed policy", async () => {
    await writeFile(path.join(dir, HYBRID_POLICY_FILE), JSON.stringify({ ...fitted, overrideMargin: -1 }));
    await expect(readHybridPolicy(dir)).rejects.toThrow(/hybrid-policy\.json: overrideMargin: /);
    await writeFile(path.join(dir, HYBRID_POLICY_FILE), "{");
    await expect(readHybridPolicy(dir)).rejects.toThrow(/hybrid-policy\.json: not valid JSON/);
  });

  it("applies a fitted policy only with the rule set it was fitted for", () => {
    expect(policyForRules(fitted, "page-rules.v2")).toBe(fitted);
    expect(policyForRules(fitted, "page-rules.v1")).toBe(DEFAULT_HYBRID_POLICY);
    expect(policyForRules(undefined, "page-rules.v2")).toBe(DEFAULT_HYBRID_POLICY);
  });
});
