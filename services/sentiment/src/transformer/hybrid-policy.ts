// How the rules and the transformer decide together. One implementation: the service (SentimentAnalyzer),
// `npm run eval:hybrid` and the latency bench all call these functions, so what is measured is what is served.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { SentimentScore } from "../scoring/index.js";

/** File beside model.onnx holding a version's fitted policy (written by `eval:hybrid --fit`). */
export const HYBRID_POLICY_FILE = "hybrid-policy.json";
export const HYBRID_POLICY_FORMAT = "funnel-sentiment-hybrid/v1";

const policySchema = z.object({
  format: z.literal(HYBRID_POLICY_FORMAT),
  /** Names this policy in logs and reports, e.g. "hybrid.v1". */
  version: z.string().min(1),
  /** The rule set the parameters were fitted against; with another rule set the default policy applies. */
  ruleSetVersion: z.string().min(1),
  /**
   * A confident rule score that rests on a curated phrase or page rule (ids `phrase.*`, `page.*`: failure
   * events, shop idioms) is the rules' answer, and the transformer is not run for it.
   */
  phraseRulesDecide: z.boolean(),
  /**
   * Confident rules at or above this confidence keep the text without running the transformer: the cost
   * knob (fewer transformer runs, a little accuracy where the transformer would have outvoted them).
   * null: every confident lexicon-only text runs the transformer.
   */
  rulesKeepConfidence: z.number().min(0).max(1).nullable(),
  /**
   * The transformer's |logit margin| from which it outvotes confident rules (the combination decides);
   * below it confident rules keep the answer. null: confident rules always decide (the transformer only
   * sees unsure texts).
   */
  overrideMargin: z.number().positive().nullable(),
  /** Logistic combination z = transformerMargin · clip(margin) + rulesScore · rules.score + bias; P(positive) = σ(z). */
  combination: z.object({ transformerMargin: z.number().finite(), rulesScore: z.number().finite(), bias: z.number().finite() }),
  /** |margin| is clipped to this before combining: saturated logits add no information. */
  marginClip: z.number().positive(),
  /** How and on what the parameters were chosen, and what they measured; informational. */
  fitted: z.record(z.string(), z.unknown()).optional(),
});

export type HybridPolicy = z.infer<typeof policySchema>;

/**
 * Without a fitted policy: the rules decide unless unsure, then the transformer alone (what a model imported
 * from elsewhere gets until a policy is fitted for it).
 */
export const DEFAULT_HYBRID_POLICY: HybridPolicy = {
  format: HYBRID_POLICY_FORMAT,
  version: "default",
  ruleSetVersion: "*",
  phraseRulesDecide: false,
  rulesKeepConfidence: null,
  overrideMargin: null,
  combination: { transformerMargin: 1, rulesScore: 0, bias: 0 },
  marginClip: 30,
};

export type HybridMethod = "rules" | "transformer" | "combined";

export interface HybridDecision {
  method: HybridMethod;
  /** In [-1, 1]: the rules' score, or 2·P(positive) − 1 of the combination. */
  score: number;
  /** Probability of the decided side (method combined/transformer) or the rules' own confidence. */
  confidence: number;
}

type RulesView = Pick<SentimentScore, "unsure" | "confidence" | "score" | "unsupportedLanguage" | "contributions">;

/** A curated rule (not a lexicon word) moved the score. */
export function restsOnPhraseRule(rules: Pick<SentimentScore, "contributions">): boolean {
  return rules.contributions.some((c) => c.rule.startsWith("phrase.") || c.rule.startsWith("page."));
}

/** Does this text need the transformer's answer? The cost side of the policy (the fallback rate). */
export function needsTransformer(rules: RulesView, policy: Pick<HybridPolicy, "phraseRulesDecide" | "rulesKeepConfidence" | "overrideMargin">): boolean {
  if (rules.unsupportedLanguage) return false;
  if (rules.unsure) return true;
  if (policy.phraseRulesDecide && restsOnPhraseRule(rules)) return false;
  if (policy.rulesKeepConfidence !== null && rules.confidence >= policy.rulesKeepConfidence) return false;
  return policy.overrideMargin !== null;
}

/**
 * The hybrid's answer for one text. `margin` is the transformer's log P(positive) − log P(negative)
 * (undefined: no transformer answer, so the rules decide).
 */
export function decideHybrid(rules: RulesView, margin: number | undefined, policy: HybridPolicy): HybridDecision {
  const byRules: HybridDecision = { method: "rules", score: rules.score, confidence: rules.confidence };
  if (margin === undefined || !needsTransformer(rules, policy)) return byRules;
  if (!rules.unsure && (policy.overrideMargin === null || Math.abs(margin) < policy.overrideMargin)) return byRules;
  const { transformerMargin, rulesScore, bias } = policy.combination;
  const clipped = Math.max(-policy.marginClip, Math.min(policy.marginClip, margin));
  const z = transformerMargin * clipped + rulesScore * rules.score + bias;
  const positive = 1 / (1 + Math.exp(-z));
  return { method: rulesScore === 0 ? "transformer" : "combined", score: 2 * positive - 1, confidence: Math.max(positive, 1 - positive) };
}

/** Validates a parsed policy; `where` names the source in the error. */
export function parseHybridPolicy(raw: unknown, where: string): HybridPolicy {
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${where}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}

/** The policy stored with a model version, or undefined when the directory has none. A malformed file throws. */
export async function readHybridPolicy(dir: string): Promise<HybridPolicy | undefined> {
  const file = path.join(dir, HYBRID_POLICY_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON: ${(error as Error).message}`);
  }
  return parseHybridPolicy(raw, file);
}

/** The policy to serve with a rule set: the fitted one when it was fitted against these rules, else the default. */
export function policyForRules(fitted: HybridPolicy | undefined, ruleSetVersion: string): HybridPolicy {
  return fitted && fitted.ruleSetVersion === ruleSetVersion ? fitted : DEFAULT_HYBRID_POLICY;
}
