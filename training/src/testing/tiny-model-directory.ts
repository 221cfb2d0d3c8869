// Tiny real two-tower model directories for other packages' tests (serving, registry round trips): trained
// on generated data in a couple of seconds, written exactly as `npm run train` writes them.
import { generateDataset } from "../data/index.js";
import { parseRunConfig } from "../cli/run-config.js";
import { runTraining, type RunSummary } from "../cli/run-training.js";

export interface TinyModelOptions {
  /** Seeds data and weights: two seeds give two versions with different vectors for the same users. */
  seed: number;
  salt: string;
  users?: number;
  items?: number;
  dim?: 64 | 128 | 256;
  /** Hashed user-id embedding with this many buckets (default 0: none). */
  userIdBuckets?: number;
  /**
   * Default "mlp", not the run default: other packages' tests were written against its unit-norm vectors and its
   * quality after one epoch; a test of serving the history model asks for it.
   */
  architecture?: "history" | "mlp";
}

/** The dataset a tiny model of these options was trained on (to pick known user and item ids). */
export function tinyModelDataset(options: Pick<TinyModelOptions, "users" | "items">) {
  return generateDataset({ users: options.users ?? 120, seed: 4, items: options.items ?? 40 });
}

/** Trains and writes a model directory to `out` (which must not exist or be empty). */
export function trainTinyModelDirectory(out: string, options: TinyModelOptions): Promise<RunSummary> {
  const config = parseRunConfig({
    // The data seed stays fixed so every version knows the same users and items; the model seed varies.
    data: { generate: { users: options.users ?? 120, seed: 4, items: options.items ?? 40 } },
    model: {
      architecture: options.architecture ?? "mlp",
      dim: options.dim ?? 64,
      hidden: 16,
      sequenceLength: 6,
      userIdBuckets: options.userIdBuckets ?? 0,
      embedding: { item: 8, page: 4, device: 4, interaction: 4, category: 4, userId: 8 },
    },
    training: { epochs: 1, batchSize: 64, parallelTowers: false },
    // Pinned rather than the run defaults (leave-last, refit, tuned baselines): other packages' tests rely on this
    // fixture's catalogue and users staying what they were, and a refit would double the time of every fixture.
    split: { strategy: "time" },
    evaluation: { refit: false },
    baselines: { easeLambda: 500, knnShrink: 50, knnNeighbours: 0 },
    seed: options.seed,
    out,
  });
  return runTraining(config, { salt: options.salt, gitCommit: "test", progress: false, log: () => {} });
}
