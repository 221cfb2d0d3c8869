// Fitting the hybrid policy stored with a transformer version (hybrid-policy.json). Pure functions over
// scored validation rows; `eval-hybrid --fit` reads the data, calls fitHybridPolicy and writes the file.
import type { SentimentScore } from "../src/scoring/index.js";
import {
  CELL_KEYS,
  type CellAction,
  type CellKey,
  cellOf,
  DEFAULT_HYBRID_POLICY,
  decideHybrid,
  HYBRID_POLICY_FORMAT,
  type HybridPolicy,
} from "../src/transformer/hybrid-policy.js";

/** One labeled text with both methods' raw answers. */
export interface ScoredRow {
  /** Which labeled source the row comes from: a cell must not get worse on any of them. */
  source: string;
  label: 0 | 1;
  rules: SentimentScore;
  /** The transformer's log P(positive) − log P(negative). */
  margin: number;
}

/** Margins beyond this add nothing (p > 0.99995) and only let one saturated logit swamp the rules. */
export const MARGIN_CLIP = 10;
/** A source with fewer rows than this in a cell is too small to veto the cell (its rows still count in the pooled test). */
export const MIN_SOURCE_ROWS = 10;
/** One-sided z for "validation shows it is better": the pooled gain's lower 95 % bound must be above 0. */
const Z_95 = 1.645;

/**
 * Credit of one answer against a binary label: 1 right, 0 wrong, ½ for a neutral answer (an abstention is
 * as good as a coin flip, so filling it in with a method that is right more than half the time is a gain).
 */
export function credit(label: 0 | 1, answer: "negative" | "neutral" | "positive"): number {
  return answer === "neutral" ? 0.5 : (answer === "positive" ? 1 : 0) === label ? 1 : 0;
}

/**
 * Logistic regression P(y=1) = σ(w · x + b) by Newton's method (a handful of features, so the Hessian is
 * tiny); a small L2 penalty keeps separable data finite; `weights` weigh rows (sources equally). Returns [w..., b].
 */
export function fitLogistic(
  features: readonly (readonly number[])[],
  labels: readonly (0 | 1)[],
  l2 = 1e-3,
  iterations = 50,
  weights: readonly number[] = features.map(() => 1),
): number[] {
  if (features.length === 0) throw new Error("cannot fit the combination: no validation rows");
  const d = features[0]!.length + 1;
  const w = new Array<number>(d).fill(0);
  const total = weights.reduce((a, b) => a + b, 0);
  for (let it = 0; it < iterations; it++) {
    const grad = new Array<number>(d).fill(0);
    const hess = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (const [i, raw] of features.entries()) {
      const x = [...raw, 1];
      const p = 1 / (1 + Math.exp(-x.reduce((sum, v, j) => sum + v * w[j]!, 0)));
      const weight = weights[i]!;
      for (let j = 0; j < d; j++) {
        grad[j]! += weight * (p - labels[i]!) * x[j]!;
        for (let k = 0; k < d; k++) hess[j]![k]! += weight * p * (1 - p) * x[j]! * x[k]!;
      }
    }
    for (let j = 0; j < d - 1; j++) {
      grad[j]! += l2 * total * w[j]!;
      hess[j]![j]! += l2 * total;
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

export interface CellReport {
  cell: CellKey;
  n: number;
  /** Mean credit per method over the cell's rows (all sources pooled). */
  rules: number;
  transformer: number;
  combined: number;
  /** Per source: rows and mean credit of each method. */
  sources: Record<string, { n: number; rules: number; transformer: number; combined: number }>;
  chosen: CellAction;
  why: string;
}

export interface FitInputs {
  version: string;
  ruleSetVersion: string;
  /** Validation rows of every labeled source (never the test rows). */
  validation: readonly ScoredRow[];
  lengthBuckets?: HybridPolicy["lengthBuckets"];
}

/**
 * 1. combination: logistic regression of the label on (clipped margin, rule score) over all validation rows,
 *    each source weighing the same in total.
 * 2. cells: for each kind of case, the transformer or the combination takes it only if its gain in credit over
 *    the rules is above 0 at the one-sided 95 % bound (rows pooled) AND no source with at least MIN_SOURCE_ROWS
 *    rows in the cell shows it worse (that source's own gain has its upper 95 % bound below 0). Of two qualifying
 *    methods the larger gain wins. Otherwise
 *    the rules keep the cell, and the transformer is not run there.
 */
export function fitHybridPolicy(inputs: FitInputs): { policy: HybridPolicy; cells: CellReport[]; combinationRows: number } {
  const lengthBuckets = inputs.lengthBuckets ?? DEFAULT_HYBRID_POLICY.lengthBuckets;
  const rows = inputs.validation.filter((r) => !r.rules.unsupportedLanguage);
  const perSource = new Map<string, number>();
  for (const r of rows) perSource.set(r.source, (perSource.get(r.source) ?? 0) + 1);
  const clip = (m: number) => Math.max(-MARGIN_CLIP, Math.min(MARGIN_CLIP, m));
  const [transformerMargin, rulesScore, bias] = fitLogistic(
    rows.map((r) => [clip(r.margin), r.rules.score]),
    rows.map((r) => r.label),
    1e-3,
    50,
    rows.map((r) => 1 / perSource.get(r.source)!),
  );
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  const base: HybridPolicy = {
    format: HYBRID_POLICY_FORMAT,
    version: inputs.version,
    ruleSetVersion: inputs.ruleSetVersion,
    lengthBuckets,
    cells: {},
    combination: { transformerMargin: round(transformerMargin!), rulesScore: round(rulesScore!), bias: round(bias!) },
    marginClip: MARGIN_CLIP,
  };
  const credits = (r: ScoredRow) => {
    const as = (action: CellAction) => credit(r.label, decideHybrid(r.rules, r.margin, { ...base, cells: { [cellOf(r.rules, base)!]: action } }).label);
    return { rules: as("rules"), transformer: as("transformer"), combined: as("combined") };
  };
  const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  const reports: CellReport[] = [];
  const cells: HybridPolicy["cells"] = {};
  for (const cell of CELL_KEYS) {
    const inCell = rows.filter((r) => cellOf(r.rules, base) === cell).map((r) => ({ source: r.source, ...credits(r) }));
    const sources: CellReport["sources"] = {};
    for (const source of new Set(inCell.map((r) => r.source))) {
      const of = inCell.filter((r) => r.source === source);
      const m = (k: "rules" | "transformer" | "combined") => round(mean(of.map((r) => r[k])));
      sources[source] = { n: of.length, rules: m("rules"), transformer: m("transformer"), combined: m("combined") };
    }
    const candidates = (["transformer", "combined"] as const).map((method) => {
      const gains = inCell.map((r) => r[method] - r.rules);
      const gain = mean(gains);
      const sd = Math.sqrt(mean(gains.map((g) => (g - gain) ** 2)));
      const lower = gain - (Z_95 * sd) / Math.sqrt(Math.max(1, gains.length));
      // A source vetoes when validation shows the method worse there: its own gain's upper 95 % bound is below 0.
      // (A point estimate would let one text of 33 veto a cell that gains 7 points pooled.)
      const worseOn = [...new Set(inCell.map((r) => r.source))].filter((source) => {
        const g = inCell.filter((r) => r.source === source).map((r) => r[method] - r.rules);
        if (g.length < MIN_SOURCE_ROWS) return false;
        const m = mean(g);
        return m + (Z_95 * Math.sqrt(mean(g.map((x) => (x - m) ** 2)))) / Math.sqrt(g.length) < 0;
      });
      return { method, gain, lower, worseOn, ok: inCell.length > 0 && lower > 0 && worseOn.length === 0 };
    });
    const best = candidates.filter((c) => c.ok).sort((a, b) => b.gain - a.gain)[0];
    const chosen: CellAction = best?.method ?? "rules";
    if (chosen !== "rules") cells[cell] = chosen;
    const why = best
      ? `${best.method}: gain ${round(best.gain)} over the rules, lower 95 % bound ${round(best.lower)}, shown worse on no source`
      : inCell.length === 0
        ? "no validation rows: the rules keep it"
        : `the rules keep it: ${candidates.map((c) => `${c.method} gain ${round(c.gain)} (lower bound ${round(c.lower)})${c.worseOn.length > 0 ? `, worse on ${c.worseOn.join(", ")}` : ""}`).join("; ")}`;
    const m = (k: "rules" | "transformer" | "combined") => round(mean(inCell.map((r) => r[k])));
    reports.push({ cell, n: inCell.length, rules: m("rules"), transformer: m("transformer"), combined: m("combined"), sources, chosen, why });
  }
  return { policy: { ...base, cells }, cells: reports, combinationRows: rows.length };
}
