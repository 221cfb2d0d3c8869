// How the rules and the transformer decide together. One implementation: the service (SentimentAnalyzer),
// `npm run eval:hybrid` and the latency bench all call these functions, so what is measured is what is served.
//
// The policy is a table over kinds of case, known from the rules' answer and the text before the transformer
// runs: what the rules said (neutral, unsure, confident on a curated phrase rule, confident on lexicon words)
// times the text's length. Each cell says who answers there: the rules, the transformer, or the logistic
// combination of both. A fitted policy gives a cell to the transformer or the combination only where
// validation data from every labeled source shows it is better than the rules; everywhere else the rules'
// answer stands and the transformer is not even run (the cost side).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { SentimentScore } from "../scoring/index.js";

/** File beside model.onnx holding a version's fitted policy (written by `eval:hybrid --fit`). */
export const HYBRID_POLICY_FILE = "hybrid-policy.json";
export const HYBRID_POLICY_FORMAT = "funnel-sentiment-hybrid/v2";

/** What the rules said, in the policy's terms. Texts in a language without rules are never routed. */
export const RULE_REGIMES = ["neutral", "unsure", "confident-phrase", "confident"] as const;
export type RuleRegime = (typeof RULE_REGIMES)[number];
export const LENGTH_BUCKETS = ["short", "medium", "long"] as const;
export type LengthBucket = (typeof LENGTH_BUCKETS)[number];
export type CellAction = "rules" | "transformer" | "combined";
export type CellKey = `${RuleRegime}/${LengthBucket}`;

export const CELL_KEYS: readonly CellKey[] = RULE_REGIMES.flatMap((regime) => LENGTH_BUCKETS.map((length): CellKey => `${regime}/${length}`));

const actionSchema = z.enum(["rules", "transformer", "combined"]);

const policySchema = z.object({
  format: z.literal(HYBRID_POLICY_FORMAT),
  /** Names this policy in logs and reports, e.g. "hybrid.v2". */
  version: z.string().min(1),
  /** The rule set the parameters were fitted against; with another rule set the default policy applies. */
  ruleSetVersion: z.string().min(1),
  /** Word counts: short ≤ lengthBuckets[0] < medium ≤ lengthBuckets[1] < long. */
  lengthBuckets: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  /** Who answers per kind of case ("<regime>/<length>"); a cell not listed is the rules'. */
  cells: z.partialRecord(z.enum(CELL_KEYS as [CellKey, ...CellKey[]]), actionSchema),
  /** Logistic combination z = transformerMargin · clip(margin) + rulesScore · rules.score + bias; P(positive) = σ(z). */
  combination: z.object({ transformerMargin: z.number().finite(), rulesScore: z.number().finite(), bias: z.number().finite() }),
  /** |margin| is clipped to this before combining: saturated logits add no information. */
  marginClip: z.number().positive(),
  /** How and on what the parameters were chosen, and what they measured; informational. */
  fitted: z.record(z.string(), z.unknown()).optional(),
});

export type HybridPolicy = z.infer<typeof policySchema>;

/**
 * Without a fitted policy: the rules decide unless they are unsure or neutral, then the transformer alone (what
 * a model imported from elsewhere gets until a policy is fitted for it).
 */
export const DEFAULT_HYBRID_POLICY: HybridPolicy = {
  format: HYBRID_POLICY_FORMAT,
  version: "default",
  ruleSetVersion: "*",
  lengthBuckets: [12, 40],
  cells: Object.fromEntries(
    CELL_KEYS.filter((key) => key.startsWith("unsure/") || key.startsWith("neutral/")).map((key) => [key, "transformer" as const]),
  ),
  combination: { transformerMargin: 1, rulesScore: 0, bias: 0 },
  marginClip: 30,
};

export type HybridMethod = "rules" | "transformer" | "combined";

export interface HybridDecision {
  method: HybridMethod;
  /** In [-1, 1]: the rules' score, or 2·P(positive) − 1 of the transformer or the combination. */
  score: number;
  /** Probability of the decided side (method combined/transformer) or the rules' own confidence. */
  confidence: number;
  /** neutral only when the rules decide and said neutral: an abstention, never counted as negative. */
  label: "negative" | "neutral" | "positive";
}

type RulesView = Pick<SentimentScore, "label" | "unsure" | "confidence" | "score" | "unsupportedLanguage" | "contributions" | "words">;

/** A curated rule (not a lexicon word) moved the score. */
export function restsOnPhraseRule(rules: Pick<SentimentScore, "contributions">): boolean {
  return rules.contributions.some((c) => c.rule.startsWith("phrase.") || c.rule.startsWith("page."));
}

export function ruleRegime(rules: RulesView): RuleRegime {
  if (rules.label === "neutral") return "neutral";
  if (rules.unsure) return "unsure";
  return restsOnPhraseRule(rules) ? "confident-phrase" : "confident";
}

export function lengthBucket(words: number, buckets: HybridPolicy["lengthBuckets"]): LengthBucket {
  return words <= buckets[0] ? "short" : words <= buckets[1] ? "medium" : "long";
}

/** The kind of case a text is, or undefined for a language without rules (never routed to the English transformer). */
export function cellOf(rules: RulesView, policy: Pick<HybridPolicy, "lengthBuckets">): CellKey | undefined {
  if (rules.unsupportedLanguage) return undefined;
  return `${ruleRegime(rules)}/${lengthBucket(rules.words, policy.lengthBuckets)}`;
}

export function cellAction(rules: RulesView, policy: Pick<HybridPolicy, "lengthBuckets" | "cells">): CellAction {
  const cell = cellOf(rules, policy);
  return cell === undefined ? "rules" : (policy.cells[cell] ?? "rules");
}

/** Does this text need the transformer's answer? The cost side of the policy (the fallback rate). */
export function needsTransformer(rules: RulesView, policy: Pick<HybridPolicy, "lengthBuckets" | "cells">): boolean {
  return cellAction(rules, policy) !== "rules";
}

/**
 * The hybrid's answer for one text. `margin` is the transformer's log P(positive) − log P(negative)
 * (undefined: no transformer answer, so the rules decide).
 */
export function decideHybrid(rules: RulesView, margin: number | undefined, policy: HybridPolicy): HybridDecision {
  const action = cellAction(rules, policy);
  if (margin === undefined || action === "rules") return { method: "rules", score: rules.score, confidence: rules.confidence, label: rules.label };
  const clipped = Math.max(-policy.marginClip, Math.min(policy.marginClip, margin));
  const z =
    action === "transformer" ? clipped : policy.combination.transformerMargin * clipped + policy.combination.rulesScore * rules.score + policy.combination.bias;
  const positive = 1 / (1 + Math.exp(-z));
  const score = 2 * positive - 1;
  // A transformer or combination answer is never neutral: it was asked because the rules could not say.
  return { method: action, score, confidence: Math.max(positive, 1 - positive), label: score >= 0 ? "positive" : "negative" };
}

/** Validates a parsed policy; `where` names the source in the error. */
export function parseHybridPolicy(raw: unknown, where: string): HybridPolicy {
  const format = (raw as { format?: unknown } | null)?.format;
  if (typeof format === "string" && format !== HYBRID_POLICY_FORMAT) {
    throw new Error(`${where}: format "${format}" is not ${HYBRID_POLICY_FORMAT}: refit the policy with npm run eval:hybrid -- --fit`);
  }
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
