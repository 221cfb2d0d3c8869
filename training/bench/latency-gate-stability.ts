/**
 * How steady the retrain latency gate's figures are on this machine: `npm run -s bench:latency-gate -w
 * @funnel/training` (JSON on stdout). Trains three tiny versions on generated data (production at the default
 * size; a candidate like it with another seed; a slow one with much wider towers and a larger dimension), then runs the
 * gate's measurement (measureServingCost: both versions loaded in one process, interleaved) `--runs` times on
 * each pair and reports, per pair, the candidate's absolute p99 and the candidate/production ratios of every
 * run with their spread (max / min): the absolute figure moves with the machine's load, the ratio should not.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { aggregateUserFeatures } from "@funnel/two-tower";
import type { Dataset } from "../src/cli/load-dataset.js";
import { parseRunConfig, type RunConfigInput } from "../src/cli/run-config.js";
import { runTraining } from "../src/cli/run-training.js";
import { generateDataset } from "../src/data/index.js";
import { DEFAULT_LATENCY_CALLS } from "../src/retrain/check-candidate.js";
import { measureServingCost } from "../src/retrain/measure-serving-cost.js";

const flag = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const RUNS = flag("--runs", 3);
const CALLS = flag("--calls", DEFAULT_LATENCY_CALLS);

const root = await mkdtemp(path.join(os.tmpdir(), "latency-gate-"));
try {
  const data = generateDataset({ users: 300, seed: 4, items: 60 });
  const dataset: Dataset = { events: data.events, itemAttributes: data.items, source: "generated" };
  const train = async (name: string, seed: number, dim: 128 | 256, hidden: number) => {
    const input: RunConfigInput = {
      data: { files: ["unused: the dataset is passed in"] },
      model: { dim, hidden, sequenceLength: 8, embedding: { item: 16, page: 4, device: 4, interaction: 4, category: 4 } },
      training: { epochs: 1, batchSize: 64, parallelTowers: false },
      seed,
      out: path.join(root, name),
    };
    return (await runTraining(parseRunConfig(input), { dataset, salt: "bench", progress: false, log: () => {} })).out;
  };
  // Production at the default tower size (dim 128, hidden 256), what `npm run retrain` gates in practice.
  const production = await train("production", 11, 128, 256);
  const pairs = { "like production": await train("like", 12, 128, 256), "wide (dim 256, hidden 2048)": await train("wide", 12, 256, 2048) };
  const raw = aggregateUserFeatures(data.events, { sequenceLength: 256 });
  const users = [...raw.keys()].sort().slice(0, 200).map((id) => raw.get(id)!);
  const spread = (xs: number[]) => Math.max(...xs) / Math.min(...xs);
  const result: Record<string, unknown> = { calls: CALLS, runs: RUNS };
  for (const [name, dir] of Object.entries(pairs)) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      const cost = await measureServingCost(dir, production, users, { calls: CALLS });
      const p = cost.production as Exclude<typeof cost.production, null | { error: string }>;
      runs.push({
        candidateP99Ms: cost.candidate.p99Ms,
        productionP99Ms: p.p99Ms,
        p99Ratio: cost.candidate.p99Ms / p.p99Ms,
        p50Ratio: cost.candidate.p50Ms / p.p50Ms,
        cpuRatio: cost.candidate.cpuMsPerCall / p.cpuMsPerCall,
        candidateCpuMsPerCall: cost.candidate.cpuMsPerCall,
      });
    }
    result[name] = {
      runs,
      spread: {
        candidateP99Ms: spread(runs.map((r) => r.candidateP99Ms)),
        p99Ratio: spread(runs.map((r) => r.p99Ratio)),
        p50Ratio: spread(runs.map((r) => r.p50Ratio)),
        cpuRatio: spread(runs.map((r) => r.cpuRatio)),
        candidateCpuMsPerCall: spread(runs.map((r) => r.candidateCpuMsPerCall)),
      },
    };
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await rm(root, { recursive: true, force: true });
}
