import type { SentimentScore } from "../scoring/index.js";

/**
 * The hybrid's routing decision: the transformer decides when the rules are unsure (little or no lexicon
 * evidence) or their confidence is below `threshold`; otherwise the rules decide. threshold 0 means "only
 * when unsure"; 1 (or more) means always the transformer. Tuned on a validation split (`npm run eval:hybrid`).
 */
export function useTransformer(rules: Pick<SentimentScore, "unsure" | "confidence">, threshold: number): boolean {
  return rules.unsure || rules.confidence < threshold;
}
