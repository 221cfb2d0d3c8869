import { readFile } from "node:fs/promises";
import { MAX_USER_ID_BUCKETS } from "@funnel/two-tower";
import { z } from "zod";
import { DEFAULT_BASELINE_GRID, DEFAULT_BIAS_OPTIONS, DEFAULT_BOOTSTRAP_RESAMPLES, DEFAULT_NEIGHBOURS_K, NEIGHBOUR_METHODS } from "../evaluation/index.js";
import { DEFAULT_HISTORY_TRAIN_OPTIONS as DEFAULT_TRAIN_OPTIONS, SELECTION_METRICS } from "../model/train-two-tower.js";
import { ARCHITECTURES, DEFAULT_EMBEDDING_WIDTHS, OUTPUT_DIMS } from "../model/two-tower-model.js";

/**
 * History slots the user tower reads (the last this many events): 200 and 100 tied on validation Recall@10 on the
 * ratings set (0.1722 both); 200 reads the whole history of most users, as the reference recipe does, for the
 * same CPU time per epoch (training/README.md).
 */
export const DEFAULT_SEQUENCE_LENGTH = 200;

/** The split of a run that does not say: see split.strategy below for why. */
export const DEFAULT_SPLIT_STRATEGY = "leave-last" as const;
export const DEFAULT_HOLDOUT_LAST = 1;

/** Fewer scored test users than this and the run warns that its figures are too noisy to compare. */
export const DEFAULT_MIN_SCORED_USERS = 300;

/** A grid of one or more values; a bare number (what run configs before the grids held) is a grid of one. */
const grid = (value: z.ZodNumber) => z.preprocess((v) => (typeof v === "number" ? [v] : v), z.array(value).min(1));

/** User-id hash buckets of a run that does not say (0: no id embedding); see training/README.md for why. */
export const DEFAULT_USER_ID_BUCKETS = 0;

const ratios = z
  .tuple([z.number().min(0), z.number().min(0), z.number().min(0)])
  .refine((r) => Math.abs(r[0] + r[1] + r[2] - 1) < 1e-6, { message: "ratios must sum to 1" });

/**
 * A training run, declared once: what `train --config run.json` reads and what params.json records. Every
 * field has a default, so `{}` is a valid run on generated data; command-line flags override the file.
 */
export const runConfigSchema = z
  .object({
    data: z
      .object({
        /** Event files (CSV with header or JSONL, see training/README.md). */
        files: z.array(z.string().min(1)).default([]),
        /** Optional item attribute table (item_id, category, ...; several categories as "a|b"). */
        itemsFile: z.string().min(1).optional(),
        /** Optional user attribute table (user_id, then categorical columns such as country). */
        usersFile: z.string().min(1).optional(),
        /** Generate a synthetic dataset instead of reading files. */
        generate: z.object({ users: z.number().int().min(1), seed: z.number().int(), items: z.number().int().optional() }).optional(),
      })
      .strict()
      .prefault({}),
    split: z
      .object({
        /**
         * "leave-last" (default): each user's last `holdoutLast` interactions are test, the ones before validation;
         * "time": train on the earliest 70 %, validate/test on later events; "user": held-out users, stratified by
         * device. Leave-last is the default because it scores every user with enough history: a global time cut
         * scored 91 of ~940 users of a ratings log (most had no history before the cut).
         */
        strategy: z.enum(["time", "user", "leave-last"]).default(DEFAULT_SPLIT_STRATEGY),
        /** Shares of train/validation/test for "time" and "user". */
        ratios: ratios.default([0.7, 0.15, 0.15]),
        /** Interactions per user held out for test (and as many for validation) by "leave-last". */
        holdoutLast: z.number().int().min(1).default(DEFAULT_HOLDOUT_LAST),
      })
      .strict()
      .prefault({}),
    model: z
      .object({
        dim: z.number().int().refine((d) => (OUTPUT_DIMS as readonly number[]).includes(d), { message: `dim must be one of ${OUTPUT_DIMS.join(", ")}` }).default(128),
        /** "history": the user as a recency-weighted bag of their items (default); "mlp": the first model. */
        architecture: z.enum(ARCHITECTURES).default("history"),
        /** History model: add the funnel inputs (device, pages, attributes, id, numbers) to the history bag. */
        userContext: z.boolean().default(false),
        hidden: z.number().int().min(1).default(256),
        sequenceLength: z.number().int().min(1).default(DEFAULT_SEQUENCE_LENGTH),
        /**
         * Hashed user-id embedding in the user tower: the pseudonym hashed into this many buckets; 0 = none (the
         * tower sees the recent items and aggregates only). Default chosen by measurement (training/README.md).
         */
        userIdBuckets: z.number().int().min(0).max(MAX_USER_ID_BUCKETS).default(DEFAULT_USER_ID_BUCKETS),
        embedding: z
          .object({
            item: z.number().int().min(1),
            page: z.number().int().min(1),
            device: z.number().int().min(1),
            interaction: z.number().int().min(1),
            category: z.number().int().min(1),
            userAttribute: z.number().int().min(1),
            userId: z.number().int().min(1),
          })
          .partial()
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    training: z
      .object({
        epochs: z.number().int().min(1).default(DEFAULT_TRAIN_OPTIONS.epochs),
        batchSize: z.number().int().min(2).default(DEFAULT_TRAIN_OPTIONS.batchSize),
        learningRate: z.number().gt(0).lt(1).default(DEFAULT_TRAIN_OPTIONS.learningRate),
        schedule: z.enum(["constant", "cosine", "step"]).default(DEFAULT_TRAIN_OPTIONS.schedule),
        warmupSteps: z.number().int().min(0).default(DEFAULT_TRAIN_OPTIONS.warmupSteps),
        temperature: z.number().gt(0).default(DEFAULT_TRAIN_OPTIONS.temperature),
        weightDecay: z.number().min(0).default(DEFAULT_TRAIN_OPTIONS.weightDecay),
        dropout: z.number().min(0).lt(1).default(DEFAULT_TRAIN_OPTIONS.dropout),
        /** Share of training rows embedded without their user id (with userIdBuckets), so cold users embed well. */
        userIdDropout: z.number().min(0).max(1).default(DEFAULT_TRAIN_OPTIONS.userIdDropout),
        extraNegatives: z.number().int().min(0).default(DEFAULT_TRAIN_OPTIONS.extraNegatives),
        logQ: z.boolean().default(DEFAULT_TRAIN_OPTIONS.logQ),
        patience: z.number().int().min(1).default(DEFAULT_TRAIN_OPTIONS.patience),
        /** Validation metric that picks the kept epoch and stops training (loss breaks ties), or "loss". */
        selectOn: z.enum(SELECTION_METRICS).default(DEFAULT_TRAIN_OPTIONS.selectOn),
        /** Train the two towers in two worker threads (the second core); same results up to float rounding. */
        parallelTowers: z.boolean().default(DEFAULT_TRAIN_OPTIONS.parallelTowers),
        /** History model: share of rows given the next-items task (the rest: random drop). */
        taskMix: z.number().min(0).max(1).default(DEFAULT_TRAIN_OPTIONS.taskMix),
        /** History model, next-items task: events after the cut that are targets. */
        nextItems: z.number().int().min(1).default(DEFAULT_TRAIN_OPTIONS.nextItems),
        /** History model, random-drop task: share of the history dropped, drawn from [dropMin, dropMax]. */
        dropMin: z.number().gt(0).lt(1).default(DEFAULT_TRAIN_OPTIONS.dropMin),
        dropMax: z.number().gt(0).lt(1).default(DEFAULT_TRAIN_OPTIONS.dropMax),
      })
      .strict()
      .prefault({}),
    /** Grids the baselines are tuned over on validation (one value: fixed); the winners are in metrics.json. */
    baselines: z
      .object({
        /** EASE's L2 penalty λ. */
        easeLambda: grid(z.number().gt(0)).default(DEFAULT_BASELINE_GRID.easeLambda),
        /** Item-kNN's shrinkage of the cosine denominator. */
        knnShrink: grid(z.number().min(0)).default(DEFAULT_BASELINE_GRID.knnShrink),
        /** Item-kNN's neighbours kept per item (0: all). */
        knnNeighbours: grid(z.number().int().min(0)).default(DEFAULT_BASELINE_GRID.knnNeighbours),
      })
      .strict()
      .prefault({}),
    evaluation: z
      .object({
        /**
         * After the epoch and the baselines' values are chosen on validation, retrain the model (for the chosen
         * number of epochs) and refit every baseline on train + validation before scoring test: the standard
         * protocol, and the model shipped then saw the most recent interactions too. Off: test scores the models
         * fitted on train alone (half the training time).
         */
        refit: z.boolean().default(true),
        /** Resamples of the per-user paired bootstrap behind every model − baseline interval. */
        bootstrapResamples: z.number().int().min(100).default(DEFAULT_BOOTSTRAP_RESAMPLES),
        /** Warn when fewer test users than this can be scored. */
        minScoredUsers: z.number().int().min(0).default(DEFAULT_MIN_SCORED_USERS),
      })
      .strict()
      .prefault({}),
    servedPolicy: z
      .object({
        /** Item-to-item neighbour source of the served policy: top-K rows of EASE or item-kNN, or none. */
        neighbours: z.enum(NEIGHBOUR_METHODS).default("ease"),
        /** Neighbours kept per item (item-neighbours.json grows with items × K). */
        neighboursK: z.number().int().min(1).max(1000).default(DEFAULT_NEIGHBOURS_K),
      })
      .strict()
      .prefault({}),
    bias: z
      .object({
        /** The report flags a user group whose share of useful recommendations is past this ratio of its share of users (or below its inverse). */
        maxRatio: z.number().gt(1).default(DEFAULT_BIAS_OPTIONS.maxRatio),
        /** Groups with fewer evaluated users are shown but not flagged. */
        minUsers: z.number().int().min(1).default(DEFAULT_BIAS_OPTIONS.minUsers),
      })
      .strict()
      .prefault({}),
    /** Seeds the split, initial weights, shuffling, dropout and sampled negatives. */
    seed: z.number().int().default(7),
    /** Output model directory. */
    out: z.string().min(1).default("runs/two-tower"),
    /** Registered model name (manifest name). */
    name: z.string().min(1).default("two-tower"),
  })
  .strict();

export type RunConfig = z.output<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;

/** Validates a run config; the error lists every bad field by its path, e.g. `training.learningRate`. */
export function parseRunConfig(raw: unknown, where = "run config"): RunConfig {
  const result = runConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`invalid ${where}: ${problems.join("; ")}`);
  }
  const config = result.data;
  if (config.data.files.length === 0 && !config.data.generate) {
    throw new Error(`invalid ${where}: give data.files (--data <file...>) or data.generate (--generate --users N --seed S)`);
  }
  return config;
}

export async function readRunConfigFile(path: string): Promise<RunConfigInput> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read run config ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as RunConfigInput;
  } catch (error) {
    throw new Error(`run config ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Deep-merges flag overrides into a config file's content (flags win; undefined flags are ignored). */
export function mergeRunConfig(base: RunConfigInput, overrides: RunConfigInput): RunConfigInput {
  return deepMerge(base as Record<string, unknown>, overrides as Record<string, unknown>) as RunConfigInput;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const existing = out[k];
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && existing && typeof existing === "object" && !Array.isArray(existing)
        ? deepMerge(existing as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export { DEFAULT_EMBEDDING_WIDTHS };
