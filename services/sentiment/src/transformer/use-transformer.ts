import type { SentimentScore } from "../scoring/index.js";

/** How the hybrid combines the two paths; tuned on a validation split with `npm run eval:hybrid -- --threshold auto`. */
export interface HybridPolicy {
  /** The transformer decides when the rules are unsure or their confidence is below this (0: only when unsure; 1: always). */
  threshold: number;
  /**
   * Weight of the rule score in the transformer path's decision: score = w · rules + (1 − w) · transformer.
   * 0 = the transformer alone. The rules' weak evidence still helps on texts both find hard.
   */
  ruleWeight: number;
}

export const DEFAULT_HYBRID_POLICY: HybridPolicy = { threshold: 0, ruleWeight: 0 };

/** The hybrid's routing decision: does this text need the transformer? */
export function useTransformer(rules: Pick<SentimentScore, "unsure" | "confidence">, threshold: number): boolean {
  return rules.unsure || rules.confidence < threshold;
}

/**
 * The hybrid's score in [-1, 1] for a text routed to the transformer (`transformer` = P(positive) − P(negative)),
 * or the rules' own score when they decide.
 */
export function hybridScore(rules: Pick<SentimentScore, "unsure" | "confidence" | "score">, transformer: number | undefined, policy: HybridPolicy): { method: "rules" | "transformer"; score: number } {
  if (transformer === undefined || !useTransformer(rules, policy.threshold)) return { method: "rules", score: rules.score };
  return { method: "transformer", score: policy.ruleWeight * rules.score + (1 - policy.ruleWeight) * transformer };
}
