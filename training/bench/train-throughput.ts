import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { generateDataset } from "../src/data/index.js";
import { AdamOptimizer } from "../src/model/adam-optimizer.js";
import { buildRetrievalTask } from "../src/model/build-retrieval-task.js";
import { initBackend, type BackendInfo } from "../src/model/init-backend.js";
import { assembleBatch, DEFAULT_TRAIN_OPTIONS, trainStep, type TrainOptions } from "../src/model/train-two-tower.js";
import { ParallelTowerTrainer } from "../src/model/parallel-tower-trainer.js";
import { initialWeights, towerConfigFromSpec, TwoTowerModel, type TwoTowerConfig } from "../src/model/two-tower-model.js";
import { measureKernels, type KernelTiming } from "./kernel-timings.js";

const run = promisify(execFile);
const TORCH_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "torch_two_tower.py");

export interface BenchmarkOptions {
  users: number;
  dim: number;
  batchSize: number;
  steps: number;
  warmupSteps: number;
  /** Timed rounds per side; the best round counts (the machine is shared, the best round is the least disturbed). */
  rounds: number;
  seed: number;
  python: string;
  /** Thread counts to run PyTorch with (tfjs WASM here is single-threaded). */
  torchThreads: number[];
  kernels: boolean;
  log?: (line: string) => void;
}

export const DEFAULT_BENCHMARK_OPTIONS: BenchmarkOptions = {
  users: 3000,
  dim: 128,
  batchSize: 512,
  steps: 30,
  warmupSteps: 5,
  rounds: 3,
  seed: 7,
  python: "python3",
  torchThreads: [1, os.availableParallelism()],
  kernels: true,
};

export interface Throughput {
  samplesPerSecond: number;
  rounds: number[];
}

export interface BenchmarkResult {
  benchmark: "two-tower training throughput";
  config: { users: number; dim: number; hidden: number; batchSize: number; steps: number; warmupSteps: number; rounds: number; model: TwoTowerConfig };
  /** Both training modes: one thread, and the two towers in two worker threads (--parallel-towers). */
  tfjs: {
    backend: BackendInfo;
    single: Throughput;
    /** With where a step's time went (ms per step, averaged over every step run): the trainer's own profile. */
    parallelTowers: Throughput & { stepProfileMs: Record<string, number> };
  };
  torch: { available: boolean; version?: string; reason?: string; results?: Record<string, { samplesPerSecond: number; rounds: number[] }> };
  /** tfjs samples/s ÷ PyTorch samples/s, per tfjs mode and PyTorch thread count. */
  ratio: Record<string, number>;
  kernels?: KernelTiming[];
  host: { cpus: number; node: string; platform: string };
}

/**
 * Training throughput (samples/s) of the tfjs two-tower step against a PyTorch CPU reference of the same
 * architecture, loss, optimiser and batch size, fed the very same batches (written to a temp file).
 */
export async function runTrainingBenchmark(options: BenchmarkOptions): Promise<BenchmarkResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const backend = await initBackend();
  const data = generateDataset({ users: options.users, seed: options.seed });
  const task = buildRetrievalTask(data.events, { strategy: "time", seed: options.seed, itemAttributes: data.items });
  const config = towerConfigFromSpec(task.spec, { dim: options.dim });
  // No dropout: the PyTorch reference has none, and both sides must run the same computation.
  const trainOptions: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, dropout: 0, batchSize: options.batchSize, seed: options.seed };
  const pairCount = task.training.train.pairs.user.length;
  const batchCount = Math.min(8, Math.floor(pairCount / options.batchSize));
  if (batchCount < 1) throw new RangeError(`--users ${options.users} gives ${pairCount} training pairs, fewer than one batch of ${options.batchSize}`);
  const batchRows = Array.from({ length: batchCount }, (_, b) => Int32Array.from({ length: options.batchSize }, (_, i) => (b * options.batchSize + i * 7919) % pairCount));

  log(`tfjs (${backend.name}), one thread: ${options.warmupSteps} warm-up + ${options.rounds} × ${options.steps} timed steps of ${options.batchSize}`);
  const model = TwoTowerModel.create(config, options.seed);
  const optimizer = new AdamOptimizer({ weightDecay: trainOptions.weightDecay, decays: (n) => n.endsWith(".kernel") });
  const single = await timeRounds(options, (i) => {
    trainStep(model, optimizer, task.training, task.training.train, batchRows[i % batchCount]!, undefined, trainOptions, trainOptions.learningRate, i);
  });
  optimizer.dispose();
  model.dispose();

  log(`tfjs (${backend.name}), parallel towers (two worker threads): same steps`);
  const trainer = await ParallelTowerTrainer.create(config, initialWeights(config, options.seed), { weightDecay: trainOptions.weightDecay });
  let parallelTowers: BenchmarkResult["tfjs"]["parallelTowers"];
  try {
    const assemble = (i: number) => trainer.prepare(assembleBatch(task.training, task.training.train, batchRows[i % batchCount]!, undefined, trainOptions));
    let next = assemble(0);
    const timed = await timeRounds(options, async (i) => {
      const pending = trainer.step(next, trainOptions, trainOptions.learningRate, i);
      // As trainTwoTower does: the next batch is gathered while the workers run this step.
      next = assemble(i + 1);
      await pending;
    });
    const steps = options.warmupSteps + options.rounds * options.steps;
    const stepProfileMs = Object.fromEntries(Object.entries(trainer.timings).map(([phase, ms]) => [phase.trim(), ms / steps]));
    parallelTowers = { ...timed, stepProfileMs };
  } finally {
    await trainer.dispose();
  }
  const tfjs = { backend, single, parallelTowers };

  const torch = await runTorch(options, config, trainOptions, task.training, batchRows, log);
  const ratio: Record<string, number> = {};
  for (const [key, r] of Object.entries(torch.results ?? {})) {
    ratio[`tfjs single/torch ${key}`] = single.samplesPerSecond / r.samplesPerSecond;
    ratio[`tfjs parallelTowers/torch ${key}`] = parallelTowers.samplesPerSecond / r.samplesPerSecond;
  }
  const kernels = options.kernels ? measureKernels() : undefined;
  return {
    benchmark: "two-tower training throughput",
    config: { users: options.users, dim: options.dim, hidden: config.hidden, batchSize: options.batchSize, steps: options.steps, warmupSteps: options.warmupSteps, rounds: options.rounds, model: config },
    tfjs,
    torch,
    ratio,
    ...(kernels ? { kernels } : {}),
    host: { cpus: os.availableParallelism(), node: process.version, platform: `${process.platform}-${process.arch}` },
  };
}

/** Warm-up steps, then `rounds` timed rounds of `steps` steps; the best round counts. */
async function timeRounds(options: BenchmarkOptions, step: (i: number) => void | Promise<void>): Promise<Throughput> {
  for (let i = 0; i < options.warmupSteps; i++) await step(i);
  const rounds: number[] = [];
  for (let r = 0; r < options.rounds; r++) {
    const started = performance.now();
    for (let i = 0; i < options.steps; i++) await step(i);
    rounds.push((options.steps * options.batchSize) / ((performance.now() - started) / 1000));
  }
  return { samplesPerSecond: Math.max(...rounds), rounds };
}

async function runTorch(
  options: BenchmarkOptions,
  config: TwoTowerConfig,
  trainOptions: TrainOptions,
  data: Parameters<typeof assembleBatch>[0],
  batchRows: Int32Array[],
  log: (line: string) => void,
): Promise<BenchmarkResult["torch"]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "two-tower-bench-"));
  try {
    const chunks: Uint8Array[] = [];
    for (const rows of batchRows) {
      const b = assembleBatch(data, data.train, rows, undefined, trainOptions);
      for (const array of [b.users.numeric, b.users.device, b.users.recentItems, b.users.recentPages, b.users.attributes, b.items.numeric, b.items.itemIndex, b.items.page, b.items.interaction, b.items.category, b.logQ!, b.itemIds]) {
        chunks.push(littleEndian(array));
      }
    }
    await writeFile(path.join(dir, "batches.bin"), Buffer.concat(chunks));
    await writeFile(
      path.join(dir, "config.json"),
      JSON.stringify({
        ...config,
        batchSize: options.batchSize,
        batches: batchRows.length,
        steps: options.steps,
        warmupSteps: options.warmupSteps,
        rounds: options.rounds,
        temperature: trainOptions.temperature,
        learningRate: trainOptions.learningRate,
        weightDecay: trainOptions.weightDecay,
        seed: options.seed,
        threads: options.torchThreads,
      }),
    );
    log(`PyTorch reference: ${options.python} ${path.basename(TORCH_SCRIPT)} (threads ${options.torchThreads.join(", ")})`);
    const { stdout } = await run(options.python, [TORCH_SCRIPT, path.join(dir, "config.json"), path.join(dir, "batches.bin")], {
      maxBuffer: 1 << 20,
    });
    const parsed = JSON.parse(stdout) as Record<string, unknown>;
    const { torch: version, ...results } = parsed;
    return { available: true, version: String(version), results: results as Record<string, { samplesPerSecond: number; rounds: number[] }> };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; message: string };
    const reason = e.code === 3 ? "torch is not installed for this Python" : e.code === "ENOENT" ? `${options.python} not found` : e.message;
    log(`PyTorch reference skipped: ${reason}`);
    return { available: false, reason };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function littleEndian(values: Float32Array | Int32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    if (values instanceof Float32Array) view.setFloat32(i * 4, values[i]!, true);
    else view.setInt32(i * 4, values[i]!, true);
  }
  return out;
}
