import * as tf from "@tensorflow/tfjs";
import { loadDataset } from "../src/cli/load-dataset.js";
import { parseRunConfig } from "../src/cli/run-config.js";
import { trainAndEvaluate } from "../src/cli/run-training.js";

export interface MemoryBenchmarkOptions {
  /** Generated users (about 14 events each: 7,000 users ≈ 100k interactions). */
  users: number;
  epochs: number;
  seed: number;
  parallelTowers?: boolean | undefined;
  log?: (line: string) => void;
}

export const DEFAULT_MEMORY_BENCHMARK_OPTIONS: MemoryBenchmarkOptions = { users: 2000, epochs: 4, seed: 7 };

export interface EpochMemory {
  epoch: number;
  /** Peak resident set size of the process so far (getrusage maxrss), MB. */
  peakRssMb: number;
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  /** Live tfjs tensors and their bytes on the main thread's backend: a leak shows as growth per epoch. */
  tensors: number;
  tensorMb: number;
}

export interface MemoryBenchmarkResult {
  benchmark: "two-tower training memory";
  config: { users: number; events: number; epochs: number; seed: number; parallelTowers: boolean };
  epochs: EpochMemory[];
  /** Peak RSS after the last epoch minus after the first: what training retains per extra epoch, times epochs - 1. */
  peakRssGrowthMb: number;
}

const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Trains on generated data exactly as `train` does (per-epoch validation metrics included) and samples memory after each epoch. */
export async function runMemoryBenchmark(options: MemoryBenchmarkOptions): Promise<MemoryBenchmarkResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const config = parseRunConfig({
    data: { generate: { users: options.users, seed: options.seed } },
    // patience = epochs: the run must last every epoch to show growth.
    training: { epochs: options.epochs, patience: options.epochs, ...(options.parallelTowers === undefined ? {} : { parallelTowers: options.parallelTowers }) },
    // One training run per benchmark: a refit (a second run on train + validation) would repeat the epoch numbers.
    evaluation: { refit: false },
    seed: options.seed,
  });
  const dataset = await loadDataset(config.data, { progress: false, log });
  const epochs: EpochMemory[] = [];
  const run = await trainAndEvaluate(config, dataset, {
    progress: false,
    log,
    onEpochEnd: (epoch) => {
      const usage = process.memoryUsage();
      const t = tf.memory();
      epochs.push({
        epoch,
        peakRssMb: Math.round(process.resourceUsage().maxRSS / 102.4) / 10,
        rssMb: mb(usage.rss),
        heapUsedMb: mb(usage.heapUsed),
        externalMb: mb(usage.external),
        arrayBuffersMb: mb(usage.arrayBuffers),
        tensors: t.numTensors,
        tensorMb: mb(t.numBytes),
      });
      log(`epoch ${epoch}: peak RSS ${epochs.at(-1)!.peakRssMb} MB, RSS ${epochs.at(-1)!.rssMb} MB, ${t.numTensors} tensors`);
    },
  });
  run.result.model.dispose();
  return {
    benchmark: "two-tower training memory",
    config: { users: options.users, events: dataset.events.length, epochs: options.epochs, seed: options.seed, parallelTowers: run.trainOptions.parallelTowers },
    epochs,
    peakRssGrowthMb: epochs.length > 1 ? Math.round((epochs.at(-1)!.peakRssMb - epochs[0]!.peakRssMb) * 10) / 10 : 0,
  };
}
