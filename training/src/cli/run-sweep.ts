import { writeFile } from "node:fs/promises";
import type { Dataset } from "./load-dataset.js";
import { parseRunConfig, type RunConfig } from "./run-config.js";
import { type BaselineEvaluation, trainAndEvaluate } from "./run-training.js";

export const SWEEP_DIMS = [64, 128, 256] as const;
export const SWEEP_LEARNING_RATES = [1e-3, 1e-4, 1e-5] as const;

/** The knobs a sweep can vary, each declared once: where it lives in the run config and its table label. */
export const SWEEP_AXES = {
  dim: { section: "model", label: "dim" },
  learningRate: { section: "training", label: "lr" },
  sequenceLength: { section: "model", label: "seq" },
  taskMix: { section: "training", label: "mix" },
  dropout: { section: "training", label: "drop" },
  weightDecay: { section: "training", label: "wd" },
  batchSize: { section: "training", label: "batch" },
  patience: { section: "training", label: "pat" },
} as const;
export type SweepAxis = keyof typeof SWEEP_AXES;
export type SweepGrid = Partial<Record<SweepAxis, readonly number[]>>;

export interface SweepRow {
  /** The swept values of this run (the other settings are the base config's). */
  settings: Partial<Record<SweepAxis, number>>;
  bestEpoch: number;
  epochsRun: number;
  validationLoss: number;
  "validation recall@10": number;
  "test recall@10": number;
  "baseline recall@10": number;
  "item-kNN recall@10": number;
  "EASE recall@10": number;
  /** Paired bootstrap interval of two-tower − EASE on test recall@10, and its verdict. */
  "vs EASE": string;
  "test ndcg@10": number;
  /** Users scored on test: the count behind every recall above. */
  "test users": number;
  samplesPerSecond: number;
  /** Mean seconds of a training epoch (validation excluded). */
  secondsPerEpoch: number;
  seconds: number;
}

/** Every combination of the grid's values, in the grid's order (last axis fastest). */
export function sweepCombinations(grid: SweepGrid): Partial<Record<SweepAxis, number>>[] {
  let combos: Partial<Record<SweepAxis, number>>[] = [{}];
  for (const [axis, values] of Object.entries(grid) as [SweepAxis, readonly number[]][]) {
    if (values.length === 0) continue;
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [axis]: v })));
  }
  return combos;
}

/**
 * Trains one model per combination of the grid on the same data and split (default: dim 64/128/256 × lr
 * 1e-3/1e-4/1e-5); picks the best by validation recall@10. Test figures are printed beside it but never choose.
 */
export async function runSweep(
  base: RunConfig,
  dataset: Dataset,
  options: { grid?: SweepGrid; out?: string; progress?: boolean; log?: (line: string) => void },
): Promise<{ rows: SweepRow[]; best: SweepRow }> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const given = options.grid && Object.values(options.grid).some((v) => v && v.length > 0);
  const combos = sweepCombinations(given ? options.grid! : { dim: SWEEP_DIMS, learningRate: SWEEP_LEARNING_RATES });
  const rows: SweepRow[] = [];
  // Same data, split and protocol in every run: the baselines are tuned, fitted and scored once.
  let baselineEvaluation: BaselineEvaluation | undefined;
  for (const settings of combos) {
    log(`sweep: ${describe(settings)} (${rows.length + 1}/${combos.length})`);
    const model: Record<string, unknown> = { ...base.model };
    const training: Record<string, unknown> = { ...base.training };
    for (const [axis, value] of Object.entries(settings) as [SweepAxis, number][]) {
      (SWEEP_AXES[axis].section === "model" ? model : training)[axis] = value;
    }
    const config = parseRunConfig({ ...base, model, training });
    const started = performance.now();
    const run = await trainAndEvaluate(config, dataset, { progress: options.progress, log, ...(baselineEvaluation ? { baselineEvaluation } : {}) });
    baselineEvaluation = run.baselineEvaluation;
    const epochs = run.result.epochs;
    rows.push({
      settings,
      bestEpoch: run.result.bestEpoch,
      epochsRun: epochs.length,
      validationLoss: Math.min(...epochs.map((e) => e.validationLoss)),
      "validation recall@10": run.validation.model["recall@10"],
      "test recall@10": run.test.model["recall@10"],
      "baseline recall@10": run.test.baselines.popularity["recall@10"],
      "item-kNN recall@10": run.test.baselines.itemKnn["recall@10"],
      "EASE recall@10": run.test.baselines.ease["recall@10"],
      "vs EASE": intervalText(run.test.intervals.ease?.["recall@10"]),
      "test ndcg@10": run.test.model["ndcg@10"],
      "test users": run.test.model.users,
      samplesPerSecond: epochs.reduce((a, e) => a + e.samplesPerSecond, 0) / epochs.length,
      secondsPerEpoch: epochs.reduce((a, e) => a + e.seconds, 0) / epochs.length,
      seconds: (performance.now() - started) / 1000,
    });
    run.result.model.dispose();
    // Written after every run: a long sweep stopped half-way keeps what it measured.
    if (options.out) await writeFile(options.out, `${JSON.stringify({ base, rows }, null, 2)}\n`);
  }
  const best = rows.reduce((a, b) => (b["validation recall@10"] > a["validation recall@10"] ? b : a));
  if (options.out) await writeFile(options.out, `${JSON.stringify({ base, rows, best }, null, 2)}\n`);
  return { rows, best };
}

export function describe(settings: Partial<Record<SweepAxis, number>>): string {
  return (Object.entries(settings) as [SweepAxis, number][]).map(([axis, v]) => `${SWEEP_AXES[axis].label} ${v}`).join(", ") || "base config";
}

/** Fixed-width text table for the terminal. */
export function formatSweepTable(rows: SweepRow[]): string {
  const axes = (Object.keys(SWEEP_AXES) as SweepAxis[]).filter((axis) => rows.some((r) => r.settings[axis] !== undefined));
  const header = [...axes.map((a) => SWEEP_AXES[a].label), "best ep", "val loss", "val R@10", "test R@10", "pop R@10", "kNN R@10", "EASE R@10", "two-tower − EASE R@10 (95 %)", "users", "s/epoch"];
  const body = rows.map((r) => [
    ...axes.map((a) => formatValue(r.settings[a])),
    `${r.bestEpoch}/${r.epochsRun}`,
    r.validationLoss.toFixed(4),
    r["validation recall@10"].toFixed(4),
    r["test recall@10"].toFixed(4),
    r["baseline recall@10"].toFixed(4),
    r["item-kNN recall@10"].toFixed(4),
    r["EASE recall@10"].toFixed(4),
    r["vs EASE"],
    String(r["test users"]),
    r.secondsPerEpoch.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

function formatValue(v: number | undefined): string {
  if (v === undefined) return "-";
  return Number.isInteger(v) ? String(v) : v < 0.01 ? v.toExponential(0) : String(v);
}

function intervalText(i: { mean: number; low: number; high: number; verdict: string } | undefined): string {
  if (!i) return "-";
  const signed = (x: number): string => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(4);
  return `${signed(i.mean)} [${signed(i.low)}, ${signed(i.high)}] ${i.verdict}`;
}
