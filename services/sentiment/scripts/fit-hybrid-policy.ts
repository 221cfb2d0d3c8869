// Fitting the hybrid policy stored with a transformer version (hybrid-policy.json). Pure functions over
// scored validation rows; `eval-hybrid --fit` reads the data, calls fitHybridPolicy and writes the file.
import type { SentimentScore } from "../src/scoring/index.js";
import { decideHybrid, HYBRID_POLICY_FORMAT, needsTransformer, type HybridPolicy } from "../src/transformer/hybrid-policy.js";

/** One labeled text with both methods' raw answers. */
export interface ScoredRow {
  label: 0 | 1;
  rules: SentimentScore;
  /** The transformer's log P(positive) − log P(negative). */
  margin: number;
}

/** Margins tried for the transformer to outvote confident rules, lowest first. */
export const OVERRIDE_MARGIN_GRID = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
/** Margins beyond this add nothing (p > 0.99995) and only let one saturated logit swamp the rules. */
export const MARGIN_CLIP = 10;

/**
 * The smallest margin from which the transformer is at least as accurate as the rules on the confident-rule
 * texts of EVERY validation set (texts resting on a phrase rule excluded when those stay with the rules).
 * Below it the rules keep their confident answers: the regime where they are reliably the better method
 * somewhere. null when no margin in the grid qualifies everywhere.
 */
export function chooseOverrideMargin(
  validationSets: readonly (readonly ScoredRow[])[],
  routing: Pick<HybridPolicy, "phraseRulesDecide" | "rulesKeepConfidence">,
): { margin: number | null; table: { margin: number; sets: { n: number; rules: number; transformer: number }[] }[] } {
  const table = OVERRIDE_MARGIN_GRID.map((margin) => ({
    margin,
    sets: validationSets.map((rows) => {
      // Confident-rule texts the transformer runs for (needsTransformer with an override) whose margin reaches it.
      const regime = rows.filter((r) => !r.rules.unsure && needsTransformer(r.rules, { ...routing, overrideMargin: margin }) && Math.abs(r.margin) >= margin);
      const correct = (value: number, r: ScoredRow) => (value > 0 ? 1 : 0) === r.label;
      const share = (hits: number) => (regime.length === 0 ? 1 : hits / regime.length);
      return {
        n: regime.length,
        rules: share(regime.filter((r) => correct(r.rules.score, r)).length),
        transformer: share(regime.filter((r) => correct(r.margin, r)).length),
      };
    }),
  }));
  const chosen = table.find((row) => row.sets.every((s) => s.transformer >= s.rules));
  return { margin: chosen?.margin ?? null, table };
}

/**
 * Logistic regression P(y=1) = σ(w · x + b) by Newton's method (a handful of features, so the Hessian is
 * tiny); a small L2 penalty keeps separable data finite. Returns [w..., b].
 */
export function fitLogistic(features: readonly (readonly number[])[], labels: readonly (0 | 1)[], l2 = 1e-3, iterations = 50): number[] {
  if (features.length === 0) throw new Error("cannot fit the combination: no validation rows reach it");
  const d = features[0]!.length + 1;
  const w = new Array<number>(d).fill(0);
  for (let it = 0; it < iterations; it++) {
    const grad = new Array<number>(d).fill(0);
    const hess = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (const [i, raw] of features.entries()) {
      const x = [...raw, 1];
      const p = 1 / (1 + Math.exp(-x.reduce((sum, v, j) => sum + v * w[j]!, 0)));
      for (let j = 0; j < d; j++) {
        grad[j]! += (p - labels[i]!) * x[j]!;
        for (let k = 0; k < d; k++) hess[j]![k]! += p * (1 - p) * x[j]! * x[k]!;
      }
    }
    for (let j = 0; j < d - 1; j++) {
      grad[j]! += l2 * features.length * w[j]!;
      hess[j]![j]! += l2 * features.length;
    }
    const step = solve(hess, grad);
    for (let j = 0; j < d; j++) w[j]! -= step[j]!;
    if (Math.max(...step.map(Math.abs)) < 1e-9) break;
  }
  return w;
}

/** Gaussian elimination with partial pivoting; the systems here are 3×3. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[pivot]![c]!)) pivot = r;
    [m[c], m[pivot]] = [m[pivot]!, m[c]!];
    const diag = m[c]![c]! || 1e-12;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / diag;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[n]! / (row[i]! || 1e-12));
}

export interface FitInputs {
  version: string;
  ruleSetVersion: string;
  /** In-domain validation rows of the transformer (the split's validation lines): the combination is fitted here. */
  validation: readonly ScoredRow[];
  /** Validation rows of other domains (e.g. review sentences) the override margin must also hold on. */
  guards: readonly (readonly ScoredRow[])[];
  phraseRulesDecide: boolean;
  /** The cost knob, chosen by the operator (not fitted): see HybridPolicy.rulesKeepConfidence. */
  rulesKeepConfidence: number | null;
}

/**
 * 1. overrideMargin: chooseOverrideMargin over the in-domain validation rows and every guard set.
 * 2. combination: logistic regression of the label on (clipped margin, rule score) over the in-domain
 *    validation rows the policy sends to the combination (unsure rules, or margin at/over the override).
 */
export function fitHybridPolicy(inputs: FitInputs): { policy: HybridPolicy; overrideTable: ReturnType<typeof chooseOverrideMargin>["table"]; combinationRows: number } {
  const { margin, table } = chooseOverrideMargin([inputs.validation, ...inputs.guards], inputs);
  const routing: HybridPolicy = {
    format: HYBRID_POLICY_FORMAT,
    version: inputs.version,
    ruleSetVersion: inputs.ruleSetVersion,
    phraseRulesDecide: inputs.phraseRulesDecide,
    rulesKeepConfidence: inputs.rulesKeepConfidence,
    overrideMargin: margin,
    combination: { transformerMargin: 1, rulesScore: 1, bias: 0 },
    marginClip: MARGIN_CLIP,
  };
  const combined = inputs.validation.filter((r) => needsTransformer(r.rules, routing) && decideHybrid(r.rules, r.margin, routing).method !== "rules");
  const clip = (m: number) => Math.max(-MARGIN_CLIP, Math.min(MARGIN_CLIP, m));
  const [transformerMargin, rulesScore, bias] = fitLogistic(
    combined.map((r) => [clip(r.margin), r.rules.score]),
    combined.map((r) => r.label),
  );
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  return { policy: { ...routing, combination: { transformerMargin: round(transformerMargin!), rulesScore: round(rulesScore!), bias: round(bias!) } }, overrideTable: table, combinationRows: combined.length };
}
