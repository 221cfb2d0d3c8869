import { writeFile } from "node:fs/promises";
import type { Dataset } from "./load-dataset.js";
import { parseRunConfig, type RunConfig } from "./run-config.js";
import { type BaselineEvaluation, trainAndEvaluate } from "./run-training.js";

export const SWEEP_DIMS = [64, 128, 256] as const;
export const SWEEP_LEARNING_RATES = [1e-3, 1e-4, 1e-5] as const;

export interface SweepRow {
  dim: number;
  learningRate: number;
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
  "test users": number;
  samplesPerSecond: number;
  seconds: number;
}

/** Trains one model per (dim, learning rate) on the same data and split; picks the best by validation recall@10. */
export async function runSweep(
  base: RunConfig,
  dataset: Dataset,
  options: { dims?: readonly number[]; learningRates?: readonly number[]; out?: string; progress?: boolean; log?: (line: string) => void },
): Promise<{ rows: SweepRow[]; best: SweepRow }> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const rows: SweepRow[] = [];
  const dims = options.dims ?? SWEEP_DIMS;
  const rates = options.learningRates ?? SWEEP_LEARNING_RATES;
  // Same data, split and protocol in every run: the baselines are tuned, fitted and scored once.
  let baselineEvaluation: BaselineEvaluation | undefined;
  for (const dim of dims) {
    for (const learningRate of rates) {
      log(`sweep: dim ${dim}, lr ${learningRate} (${rows.length + 1}/${dims.length * rates.length})`);
      const config = parseRunConfig({ ...base, model: { ...base.model, dim }, training: { ...base.training, learningRate } });
      const started = performance.now();
      const run = await trainAndEvaluate(config, dataset, { progress: options.progress, log, ...(baselineEvaluation ? { baselineEvaluation } : {}) });
      baselineEvaluation = run.baselineEvaluation;
      const epochs = run.result.epochs;
      rows.push({
        dim,
        learningRate,
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
        seconds: (performance.now() - started) / 1000,
      });
      run.result.model.dispose();
    }
  }
  const best = rows.reduce((a, b) => (b["validation recall@10"] > a["validation recall@10"] ? b : a));
  if (options.out) await writeFile(options.out, `${JSON.stringify({ base, rows, best }, null, 2)}\n`);
  return { rows, best };
}

/** Fixed-width text table for the terminal. */
export function formatSweepTable(rows: SweepRow[]): string {
  const header = ["dim", "lr", "best ep", "val loss", "val R@10", "test R@10", "pop R@10", "kNN R@10", "EASE R@10", "two-tower − EASE R@10 (95 %)", "users", "samples/s"];
  const body = rows.map((r) => [
    String(r.dim),
    r.learningRate.toExponential(0),
    `${r.bestEpoch}/${r.epochsRun}`,
    r.validationLoss.toFixed(4),
    r["validation recall@10"].toFixed(4),
    r["test recall@10"].toFixed(4),
    r["baseline recall@10"].toFixed(4),
    r["item-kNN recall@10"].toFixed(4),
    r["EASE recall@10"].toFixed(4),
    r["vs EASE"],
    String(r["test users"]),
    String(Math.round(r.samplesPerSecond)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

function intervalText(i: { mean: number; low: number; high: number; verdict: string } | undefined): string {
  if (!i) return "-";
  const signed = (x: number): string => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(4);
  return `${signed(i.mean)} [${signed(i.low)}, ${signed(i.high)}] ${i.verdict}`;
}
