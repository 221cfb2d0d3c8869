import { availableParallelism } from "node:os";
import { type ItemTensors, NO_USER_ID, type UserTensors } from "@funnel/two-tower";
import * as tf from "@tensorflow/tfjs";
import { createSeededRandom, type SeededRandom } from "../data/index.js";
import type { EpochLog } from "../report/index.js";
import { AdamOptimizer } from "./adam-optimizer.js";
import { EpochSelection } from "./epoch-selection.js";
import { inBatchSoftmaxLoss } from "./in-batch-softmax-loss.js";
import { type LearningRateSchedule, learningRateAt } from "./learning-rate-schedule.js";
import { ParallelTowerTrainer, type TowerBatch } from "./parallel-tower-trainer.js";
import { type HistoryTaskOptions, trainHistoryTwoTower, type UserSequences } from "./train-history-two-tower.js";
import { architectureOf, type TwoTowerConfig, TwoTowerModel } from "./two-tower-model.js";

/** (user row, item row) training examples; row indices into a UserTensors / ItemTensors. */
export interface PairSet {
  user: Int32Array;
  item: Int32Array;
}

export interface PairSplit {
  /** Features of the users the pairs refer to (their history, never including the pair's own future). */
  users: UserTensors;
  pairs: PairSet;
}

export interface TrainingData {
  items: ItemTensors;
  train: PairSplit;
  validation: PairSplit;
  /** log of each item row's share of training positives: the sampling probability for logQ correction. */
  itemLogQ: Float32Array;
  /** Each training user's whole event sequence, rows as train.users: what the history model cuts examples from. */
  sequences?: UserSequences;
}

export interface TrainOptions extends HistoryTaskOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  schedule: LearningRateSchedule;
  warmupSteps: number;
  temperature: number;
  /** Coupled L2 decay on dense kernels. */
  weightDecay: number;
  /** Dropout on each tower's hidden layer. */
  dropout: number;
  /**
   * Share of training rows whose user id is replaced by "no id" (when the spec has user-id buckets), so the user
   * tower also learns to embed users without one: the cold users, and callers that send features without an id.
   */
  userIdDropout: number;
  /** Uniformly sampled extra negatives per step, shared by the batch; 0 = in-batch only. */
  extraNegatives: number;
  /** Apply logQ correction. */
  logQ: boolean;
  /** Stop after this many epochs without an improvement of `selectOn`; the best epoch's weights are kept. */
  patience: number;
  /**
   * What picks the kept epoch and stops training: a validation retrieval metric (higher is better, validation
   * loss breaks ties) read from the `epochMetrics` hook as "validation <metric>", or "loss" (validation loss).
   * On real data the two disagree: on online retail the loss was best at epoch 1 while Recall@10 rose to epoch 11.
   * Without a hook providing the metric, the loss decides (TrainResult.selectedOn says which did).
   */
  selectOn: SelectionMetric;
  seed: number;
  /**
   * Train the two towers' MLPs in two worker threads (one tfjs WASM instance each) instead of one thread:
   * tfjs WASM is single-threaded in Node, so this is what puts the second core to work. Same results up to
   * float rounding.
   */
  parallelTowers: boolean;
}

export const SELECTION_METRICS = ["recall@10", "recall@20", "recall@5", "ndcg@10", "map@10", "loss"] as const;
export type SelectionMetric = (typeof SELECTION_METRICS)[number];

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  epochs: 8,
  batchSize: 512,
  learningRate: 2e-3,
  schedule: "cosine",
  warmupSteps: 0,
  // Chosen on generated data (10,000 users, time split): T 0.2 with dropout 0.3 beat T 0.1 without dropout on
  // test recall@10 (0.324 vs 0.299), the model otherwise overfitting after the first epoch.
  temperature: 0.2,
  weightDecay: 1e-5,
  dropout: 0.3,
  userIdDropout: 0.2,
  extraNegatives: 0,
  logQ: true,
  patience: 2,
  selectOn: "recall@10",
  seed: 7,
  // ~1.45× the single-thread throughput at batch 512, dim 128, hidden 256 on 2 cores (npm run bench); with one
  // core the workers would only take turns.
  parallelTowers: availableParallelism() > 1,
  // The history model's tasks (unused by the MLP model): the PyTorch reference's mix, see training/README.md.
  taskMix: 0.5,
  nextItems: 5,
  dropMin: 0.2,
  dropMax: 0.5,
};

/**
 * Defaults of `train` (the history model), from the PyTorch reference's recipe and `npm run sweep` (training/README.md,
 * "The two-tower model"): AdamW with decoupled decay 1e-2, a constant rate, many short epochs (one pass over the
 * training users each) stopped early on validation Recall@10.
 */
export const DEFAULT_HISTORY_TRAIN_OPTIONS: TrainOptions = {
  ...DEFAULT_TRAIN_OPTIONS,
  epochs: 300,
  batchSize: 128,
  // 2e-3 and patience 10 rather than the reference's 1e-3 and 20: the same validation Recall@10 (0.163–0.166 vs
  // 0.164) in about half the epochs on the ratings set (training/README.md, "The history model, measured").
  learningRate: 2e-3,
  schedule: "constant",
  weightDecay: 1e-2,
  dropout: 0.3,
  patience: 10,
  // Three in four rows next items: validation Recall@10 0.1659 vs 0.163 with half (the test figures agree).
  taskMix: 0.75,
};

/** One row of epochs.json: A's report type plus timing. */
export type TrainEpochLog = EpochLog & {
  seconds: number;
  /**
   * CPU seconds of the process (all threads) during the epoch's training steps: on a shared machine the wall
   * time measures the neighbours as much as the model, so speed comparisons use this.
   */
  cpuSeconds?: number;
  samplesPerSecond: number;
};

export interface TrainHooks {
  onEpochStart?: (epoch: number, steps: number) => void;
  onStep?: (info: { epoch: number; step: number; steps: number; loss: number }) => void;
  onEpochEnd?: (log: TrainEpochLog) => void;
  /** Extra per-epoch numbers (e.g. "validation recall@10") merged into the epoch log; `selectOn` reads them. */
  epochMetrics?: (model: TwoTowerModel) => Record<string, number>;
}

export interface TrainResult {
  model: TwoTowerModel;
  epochs: TrainEpochLog[];
  bestEpoch: number;
  stoppedEarly: boolean;
  /** The epoch log field that selected bestEpoch ("validation recall@10", or "validationLoss"). */
  selectedOn: string;
}

/** Joint training of both towers with in-batch sampled softmax, logQ correction, Adam and early stopping. */
export async function trainTwoTower(
  config: TwoTowerConfig,
  data: TrainingData,
  options: TrainOptions,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  validateOptions(options);
  validateData(data);
  if (architectureOf(config) === "history") return trainHistoryTwoTower(config, data, options, hooks);
  const model = TwoTowerModel.create(config, options.seed);
  const trainer = options.parallelTowers ? await ParallelTowerTrainer.create(config, model.getWeights(), { weightDecay: options.weightDecay }) : undefined;
  const optimizer = new AdamOptimizer({ weightDecay: options.weightDecay, decays: (name) => name.endsWith(".kernel") });
  const rng = createSeededRandom(options.seed + 1);
  // Its own generator: the batches and negatives draw exactly what they drew before the id embedding existed.
  const idDropout = { rate: options.userIdDropout, rng: createSeededRandom(options.seed + 2) };
  const trainCount = data.train.pairs.user.length;
  const stepsPerEpoch = Math.ceil(trainCount / options.batchSize);
  const totalSteps = stepsPerEpoch * options.epochs;
  const order = Int32Array.from({ length: trainCount }, (_, i) => i);
  const epochs: TrainEpochLog[] = [];
  const selection = new EpochSelection(options);
  let globalStep = 0;
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      rng.shuffle(order);
      hooks.onEpochStart?.(epoch, stepsPerEpoch);
      const started = performance.now();
      const cpuStarted = process.cpuUsage();
      let lossSum = 0;
      let normSum = 0;
      let learningRate = options.learningRate;
      const pick = (step: number): { rows: Int32Array; extra: Int32Array | undefined } => ({
        rows: order.subarray(step * options.batchSize, Math.min(trainCount, (step + 1) * options.batchSize)),
        extra: options.extraNegatives > 0 ? sampleItems(data.items.count, options.extraNegatives, rng) : undefined,
      });
      let next = pick(0);
      let nextBatch = trainer?.prepare(assembleBatch(data, data.train, next.rows, next.extra, options, idDropout));
      for (let step = 0; step < stepsPerEpoch; step++) {
        const current = next;
        const batch = nextBatch;
        learningRate = learningRateAt({
          schedule: options.schedule,
          base: options.learningRate,
          step: globalStep,
          totalSteps,
          stepsPerEpoch,
          warmupSteps: options.warmupSteps,
        });
        let result: { loss: number; gradNorm: number };
        if (trainer && batch) {
          const pending = trainer.step(batch, options, learningRate, globalStep);
          // The next batch is gathered while the workers run this step (the main thread would sit idle). The
          // random draws keep their order, so both modes see the same batches.
          if (step + 1 < stepsPerEpoch) {
            next = pick(step + 1);
            nextBatch = trainer.prepare(assembleBatch(data, data.train, next.rows, next.extra, options, idDropout));
          }
          result = await pending;
        } else {
          result = trainStep(model, optimizer, data, data.train, current.rows, current.extra, options, learningRate, globalStep, idDropout);
          if (step + 1 < stepsPerEpoch) next = pick(step + 1);
        }
        const { loss, gradNorm } = result;
        if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss} at epoch ${epoch} step ${step + 1}; lower --lr`);
        lossSum += loss;
        normSum += gradNorm;
        globalStep++;
        hooks.onStep?.({ epoch, step: step + 1, steps: stepsPerEpoch, loss });
        // Yield so progress bars repaint and signals are handled during long epochs.
        if (step % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
      }
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuStarted);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      // The workers hold the MLP weights and the trainer the tables: validation and the hooks read the model.
      if (trainer) model.setWeights(await trainer.getWeights());
      const validationLoss = evaluateLoss(model, data, data.validation, options);
      const log: TrainEpochLog = {
        epoch,
        trainLoss: lossSum / stepsPerEpoch,
        validationLoss,
        gradNorm: normSum / stepsPerEpoch,
        learningRate,
        seconds,
        cpuSeconds,
        samplesPerSecond: trainCount / seconds,
        ...hooks.epochMetrics?.(model),
      };
      epochs.push(log);
      hooks.onEpochEnd?.(log);
      const metric = options.selectOn === "loss" ? undefined : log[`validation ${options.selectOn}`];
      if (selection.endOfEpoch(epoch, validationLoss, metric, model)) break;
    }
  } finally {
    optimizer.dispose();
    await trainer?.dispose();
  }
  selection.restoreBest(model);
  return { model, epochs, bestEpoch: selection.bestEpoch, stoppedEarly: selection.stoppedEarly, selectedOn: selection.selectedOn };
}

/** One optimisation step on the given pair rows; returns the batch loss and the global gradient norm. */
export function trainStep(
  model: TwoTowerModel,
  optimizer: AdamOptimizer,
  data: TrainingData,
  split: PairSplit,
  rows: ArrayLike<number>,
  extra: Int32Array | undefined,
  options: Pick<TrainOptions, "temperature" | "dropout" | "logQ" | "seed" | "batchSize" | "extraNegatives">,
  learningRate: number,
  step: number,
  idDropout?: UserIdDropout,
): { loss: number; gradNorm: number } {
  const batch = assembleBatch(data, split, rows, extra, options, idDropout);
  const names = Object.keys(model.variables);
  const variables = names.map((n) => model.variables[n]!);
  const byVariableName = new Map(names.map((n) => [model.variables[n]!.name, n]));
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const dropoutSeed = options.seed * 1_000_003 + step;
      const u = model.userTower(batch.users, { dropout: options.dropout, dropoutSeed });
      const v = model.itemTower(batch.items, { dropout: options.dropout, dropoutSeed: dropoutSeed + 1 });
      const extraItems = batch.extraItems ? model.itemTower(batch.extraItems, { dropout: options.dropout, dropoutSeed: dropoutSeed + 2 }) : undefined;
      return inBatchSoftmaxLoss({
        users: u,
        items: v,
        temperature: options.temperature,
        logQ: batch.logQ,
        itemIds: batch.itemIds,
        extra: extraItems && batch.extraLogQ ? { items: extraItems, logQ: batch.extraLogQ, itemIds: batch.extraIds } : undefined,
      });
    }, variables);
    const named: Record<string, tf.Tensor> = {};
    for (const [variableName, g] of Object.entries(grads)) named[byVariableName.get(variableName)!] = g;
    const normSquared = tf.addN(Object.values(named).map((g) => tf.sum(tf.square(g))));
    const [loss, squared] = tf.stack([value, normSquared]).dataSync() as Float32Array;
    optimizer.apply(model.variables, named, learningRate);
    return { loss: loss!, gradNorm: Math.sqrt(squared!) };
  });
}

/** Mean in-batch loss over a split in fixed order, without dropout. */
export function evaluateLoss(
  model: TwoTowerModel,
  data: TrainingData,
  split: PairSplit,
  options: Pick<TrainOptions, "temperature" | "logQ" | "batchSize">,
): number {
  const count = split.pairs.user.length;
  if (count === 0) return Number.NaN;
  let sum = 0;
  let batches = 0;
  for (let start = 0; start < count; start += options.batchSize) {
    const rows = Int32Array.from({ length: Math.min(count, start + options.batchSize) - start }, (_, i) => start + i);
    // A batch of one has no negatives; its loss is always 0 and would flatter the mean.
    if (rows.length < 2) continue;
    const batch = assembleBatch(data, split, rows, undefined, { ...options, extraNegatives: 0 });
    sum += tf.tidy(() =>
      inBatchSoftmaxLoss({
        users: model.userTower(batch.users),
        items: model.itemTower(batch.items),
        temperature: options.temperature,
        logQ: batch.logQ,
        itemIds: batch.itemIds,
      }).dataSync()[0]!,
    );
    batches++;
  }
  return sum / Math.max(1, batches);
}

/** A training batch: the parallel trainer takes the same shape. */
type Batch = TowerBatch;

/** Replaces a row's user id by "no id" with probability `rate`, drawing from `rng` once per row. */
export interface UserIdDropout {
  rate: number;
  rng: SeededRandom;
}

/**
 * Gathers the rows of a batch. The positive item is blanked out of the user's history (leave-target-out), so the
 * model learns to predict an item from the rest of the history, as it must at serving time.
 */
export function assembleBatch(
  data: TrainingData,
  split: PairSplit,
  rows: ArrayLike<number>,
  extra: Int32Array | undefined,
  options: Pick<TrainOptions, "logQ" | "batchSize" | "extraNegatives">,
  idDropout?: UserIdDropout,
): Batch {
  const n = rows.length;
  const users = split.users;
  const items = data.items;
  const uw = users.numeric.length / Math.max(1, users.count);
  const L = users.recentItems.length / Math.max(1, users.count);
  const iw = items.numeric.length / Math.max(1, items.count);
  const bu: UserTensors = {
    count: n,
    numeric: new Float32Array(n * uw),
    device: new Int32Array(n),
    recentItems: new Int32Array(n * L),
    recentPages: new Int32Array(n * L),
    attributes: new Int32Array(n * (users.attributes.length / Math.max(1, users.count))),
    userId: new Int32Array(n),
  };
  const dropIds = idDropout !== undefined && idDropout.rate > 0;
  const A = users.attributes.length / Math.max(1, users.count);
  const bi = allocateItems(n, iw, items.category.length / Math.max(1, items.count));
  const itemIds = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const pair = rows[b]!;
    const u = split.pairs.user[pair]!;
    const it = split.pairs.item[pair]!;
    bu.numeric.set(users.numeric.subarray(u * uw, (u + 1) * uw), b * uw);
    bu.device[b] = users.device[u]!;
    bu.attributes.set(users.attributes.subarray(u * A, (u + 1) * A), b * A);
    // A draw per row even when the id is already 0, so which rows drop never depends on the data's ids.
    bu.userId[b] = dropIds && idDropout.rng.next() < idDropout.rate ? NO_USER_ID : users.userId[u]!;
    const target = items.itemIndex[it]!;
    for (let l = 0; l < L; l++) {
      const item = users.recentItems[u * L + l]!;
      if (item === target) continue;
      bu.recentItems[b * L + l] = item;
      bu.recentPages[b * L + l] = users.recentPages[u * L + l]!;
    }
    copyItemRow(items, it, bi, b, iw);
    itemIds[b] = it;
  }
  const batch: Batch = { users: bu, items: bi, itemIds };
  if (options.logQ) {
    // Expected number of times an item appears in a batch is batchSize × q; with extra uniform negatives both
    // kinds of column must be corrected on the same (expected-count) scale.
    const scale = Math.log(options.batchSize);
    batch.logQ = Float32Array.from(itemIds, (it) => data.itemLogQ[it]! + scale);
  }
  if (extra && extra.length > 0) {
    batch.extraItems = gatherItems(items, extra);
    batch.extraIds = extra;
    const uniform = Math.log(extra.length / items.count);
    batch.extraLogQ = new Float32Array(extra.length).fill(options.logQ ? uniform : 0);
  }
  return batch;
}

function gatherItems(items: ItemTensors, rows: Int32Array): ItemTensors {
  const iw = items.numeric.length / Math.max(1, items.count);
  const out = allocateItems(rows.length, iw, items.category.length / Math.max(1, items.count));
  rows.forEach((row, b) => {
    copyItemRow(items, row, out, b, iw);
  });
  return out;
}

function allocateItems(n: number, numericWidth: number, categorySlots: number): ItemTensors {
  return {
    count: n,
    numeric: new Float32Array(n * numericWidth),
    itemIndex: new Int32Array(n),
    page: new Int32Array(n),
    interaction: new Int32Array(n),
    category: new Int32Array(n * categorySlots),
  };
}

/** Copies item row `from` of `items` into row `to` of `out`. */
function copyItemRow(items: ItemTensors, from: number, out: ItemTensors, to: number, numericWidth: number): void {
  out.numeric.set(items.numeric.subarray(from * numericWidth, (from + 1) * numericWidth), to * numericWidth);
  out.itemIndex[to] = items.itemIndex[from]!;
  out.page[to] = items.page[from]!;
  out.interaction[to] = items.interaction[from]!;
  const slots = items.category.length / Math.max(1, items.count);
  out.category.set(items.category.subarray(from * slots, (from + 1) * slots), to * slots);
}

function sampleItems(itemCount: number, k: number, rng: SeededRandom): Int32Array {
  return Int32Array.from({ length: k }, () => rng.int(itemCount));
}

function validateOptions(o: TrainOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(o.epochs) || o.epochs < 1) problems.push(`epochs must be an integer >= 1 (got ${o.epochs})`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 2) problems.push(`batchSize must be an integer >= 2 (got ${o.batchSize})`);
  if (!(o.learningRate > 0 && o.learningRate < 1)) problems.push(`learningRate must be in (0, 1) (got ${o.learningRate})`);
  if (!(o.temperature > 0)) problems.push(`temperature must be > 0 (got ${o.temperature})`);
  if (!(o.weightDecay >= 0)) problems.push(`weightDecay must be >= 0 (got ${o.weightDecay})`);
  if (!(o.dropout >= 0 && o.dropout < 1)) problems.push(`dropout must be in [0, 1) (got ${o.dropout})`);
  if (!(o.userIdDropout >= 0 && o.userIdDropout <= 1)) problems.push(`userIdDropout must be in [0, 1] (got ${o.userIdDropout})`);
  if (!Number.isInteger(o.extraNegatives) || o.extraNegatives < 0) problems.push(`extraNegatives must be an integer >= 0 (got ${o.extraNegatives})`);
  if (!Number.isInteger(o.patience) || o.patience < 1) problems.push(`patience must be an integer >= 1 (got ${o.patience})`);
  if (!SELECTION_METRICS.includes(o.selectOn)) problems.push(`selectOn must be one of ${SELECTION_METRICS.join(", ")} (got ${o.selectOn})`);
  if (!Number.isInteger(o.seed)) problems.push(`seed must be an integer (got ${o.seed})`);
  if (!(o.taskMix >= 0 && o.taskMix <= 1)) problems.push(`taskMix must be in [0, 1] (got ${o.taskMix})`);
  if (!Number.isInteger(o.nextItems) || o.nextItems < 1) problems.push(`nextItems must be an integer >= 1 (got ${o.nextItems})`);
  if (!(o.dropMin > 0 && o.dropMin <= o.dropMax && o.dropMax < 1)) problems.push(`need 0 < dropMin <= dropMax < 1 (got ${o.dropMin}, ${o.dropMax})`);
  if (problems.length > 0) throw new RangeError(`invalid training options: ${problems.join("; ")}`);
}

function validateData(d: TrainingData): void {
  if (d.train.pairs.user.length === 0) throw new RangeError("no training pairs: the train split has no (user, item) interactions");
  if (d.train.pairs.user.length !== d.train.pairs.item.length) throw new RangeError("train pairs: user and item arrays differ in length");
  if (d.itemLogQ.length !== d.items.count) throw new RangeError(`itemLogQ has ${d.itemLogQ.length} entries for ${d.items.count} items`);
}
