import type { UserTensors } from "@funnel/two-tower";
import * as tf from "@tensorflow/tfjs";
import { createSeededRandom, type SeededRandom } from "../data/index.js";
import { AdamOptimizer } from "./adam-optimizer.js";
import { EpochSelection } from "./epoch-selection.js";
import { fullSoftmaxLoss } from "./full-softmax-loss.js";
import { learningRateAt } from "./learning-rate-schedule.js";
import { matMulTransposeB } from "./mat-mul.js";
import type { PairSplit, TrainEpochLog, TrainHooks, TrainingData, TrainOptions, TrainResult } from "./train-two-tower.js";
import { type TwoTowerConfig, TwoTowerModel } from "./two-tower-model.js";

/**
 * Each training user's whole training history in time order: user row u's events are
 * items[offsets[u] .. offsets[u + 1]) (item-vocabulary indices) with their pages alongside.
 */
export interface UserSequences {
  offsets: Int32Array;
  items: Int32Array;
  pages: Int32Array;
}

/** The two tasks the history model learns from, mixed per user and step. */
export interface HistoryTaskOptions {
  /** Share of rows given the next-items task; the rest get random drop. */
  taskMix: number;
  /** Next-items task: how many events after the cut are targets. */
  nextItems: number;
  /** Random-drop task: the share of the history dropped is drawn uniformly from [dropMin, dropMax]. */
  dropMin: number;
  dropMax: number;
}

/** One training example cut from a history: positions of the kept history (in order) and of the targets. */
export interface HistoryExample {
  history: number[];
  targets: number[];
}

/**
 * Draws one example from a history of `length` events (length ≥ 2):
 * - next items (probability taskMix): cut at a random point 1 … length − 1; the events before are the history
 *   (so recency is counted back from the cut), the next `nextItems` events the targets;
 * - random drop: each event is dropped with a probability drawn from [dropMin, dropMax]; the dropped ones are
 *   the targets, the rest the history (at least one of each: a draw that dropped none or all is redone by
 *   moving one event across).
 * The model thus learns both "what comes next" (what leave-last evaluation asks) and "what else belongs to this
 * history" (which keeps old tastes in the bag); without the next-items task the PyTorch reference lost 0.015–0.025.
 */
export function sampleHistoryExample(length: number, options: HistoryTaskOptions, rng: SeededRandom): HistoryExample {
  if (length < 2) throw new RangeError(`sampleHistoryExample: a history needs at least 2 events, got ${length}`);
  if (rng.next() < options.taskMix) {
    const cut = 1 + Math.floor(rng.next() * (length - 1));
    return { history: range(0, cut), targets: range(cut, Math.min(length, cut + options.nextItems)) };
  }
  const rate = options.dropMin + (options.dropMax - options.dropMin) * rng.next();
  const history: number[] = [];
  const targets: number[] = [];
  for (let i = 0; i < length; i++) (rng.next() < rate ? targets : history).push(i);
  if (targets.length === 0) targets.push(history.splice(Math.floor(rng.next() * history.length), 1)[0]!);
  else if (history.length === 0) history.push(targets.splice(Math.floor(rng.next() * targets.length), 1)[0]!);
  return { history, targets };
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

export interface HistoryBatch {
  users: UserTensors;
  /** [rows, catalogue items]: how often each catalogue item is a target of the row. */
  targets: Float32Array;
}

/**
 * A batch of user rows, each with a freshly drawn example: the kept history fills the row's recent items and
 * pages (the last sequenceLength of them, left-padded as encodeUsers lays them out); the user's other inputs
 * are their training-time features.
 */
export function assembleHistoryBatch(
  data: TrainingData,
  sequences: UserSequences,
  rows: ArrayLike<number>,
  sequenceLength: number,
  options: HistoryTaskOptions,
  rng: SeededRandom,
): HistoryBatch {
  const n = rows.length;
  const src = data.train.users;
  const L = sequenceLength;
  const catalogue = data.items.count;
  const users = gatherUsers(src, rows);
  users.recentItems.fill(0);
  users.recentPages.fill(0);
  const targets = new Float32Array(n * catalogue);
  for (let b = 0; b < n; b++) {
    const u = rows[b]!;
    const start = sequences.offsets[u]!;
    const example = sampleHistoryExample(sequences.offsets[u + 1]! - start, options, rng);
    const kept = example.history.slice(-L);
    const pad = L - kept.length;
    for (let k = 0; k < kept.length; k++) {
      users.recentItems[b * L + pad + k] = sequences.items[start + kept[k]!]!;
      users.recentPages[b * L + pad + k] = sequences.pages[start + kept[k]!]!;
    }
    // Vocabulary index k ≥ 2 is catalogue row k − 2; an item outside the vocabulary (OOV) cannot be a target.
    for (const t of example.targets) {
      const k = sequences.items[start + t]!;
      if (k >= 2) targets[b * catalogue + k - 2]! += 1;
    }
  }
  return { users, targets };
}

function gatherUsers(src: UserTensors, rows: ArrayLike<number>): UserTensors {
  const n = rows.length;
  const width = (a: { length: number }): number => a.length / Math.max(1, src.count);
  const pick = <T extends Float32Array | Int32Array>(a: T, make: (size: number) => T): T => {
    const w = width(a);
    const out = make(n * w);
    for (let b = 0; b < n; b++) out.set(a.subarray(rows[b]! * w, (rows[b]! + 1) * w), b * w);
    return out;
  };
  return {
    count: n,
    numeric: pick(src.numeric, (s) => new Float32Array(s)),
    device: pick(src.device, (s) => new Int32Array(s)),
    recentItems: pick(src.recentItems, (s) => new Int32Array(s)),
    recentPages: pick(src.recentPages, (s) => new Int32Array(s)),
    attributes: pick(src.attributes, (s) => new Int32Array(s)),
    userId: pick(src.userId, (s) => new Int32Array(s)),
  };
}

/** Every catalogue item's tower output and the logits of a batch of user rows against all of them. */
function scoreAll(model: TwoTowerModel, users: UserTensors, forward: { dropout?: number; dropoutSeed?: number }): tf.Tensor2D {
  const table = model.historyItemTable();
  const catalogue = table.shape[0] - 2;
  const items = tf.concat([tf.slice(table, [2, 0], [catalogue, -1]), tf.slice(model.variables["item.bias"] as tf.Tensor2D, [2, 0], [catalogue, 1])], 1);
  return matMulTransposeB(model.userTower(users, forward, table), items);
}

/** One AdamW step on a batch; returns the loss and the global gradient norm. */
export function historyTrainStep(
  model: TwoTowerModel,
  optimizer: AdamOptimizer,
  batch: HistoryBatch,
  options: { dropout: number; dropoutSeed: number },
  learningRate: number,
): { loss: number; gradNorm: number } {
  const names = Object.keys(model.variables);
  const byVariableName = new Map(names.map((n) => [model.variables[n]!.name, n]));
  return tf.tidy(() => {
    const targets = tf.tensor2d(batch.targets, [batch.users.count, batch.targets.length / batch.users.count]);
    const { value, grads } = tf.variableGrads(
      () => fullSoftmaxLoss(scoreAll(model, batch.users, { dropout: options.dropout, dropoutSeed: options.dropoutSeed }), targets),
      names.map((n) => model.variables[n]!),
    );
    const named: Record<string, tf.Tensor> = {};
    for (const [variableName, g] of Object.entries(grads)) named[byVariableName.get(variableName)!] = g;
    const normSquared = tf.addN(Object.values(named).map((g) => tf.sum(tf.square(g))));
    const [loss, squared] = tf.stack([value, normSquared]).dataSync() as Float32Array;
    optimizer.apply(model.variables, named, learningRate);
    return { loss: loss!, gradNorm: Math.sqrt(squared!) };
  });
}

/** Mean full-softmax loss of a split's (user, item) pairs, without dropout. */
export function historyValidationLoss(model: TwoTowerModel, data: TrainingData, split: PairSplit, batchSize: number): number {
  const byUser = new Map<number, number[]>();
  for (let p = 0; p < split.pairs.user.length; p++) {
    const list = byUser.get(split.pairs.user[p]!);
    if (list) list.push(split.pairs.item[p]!);
    else byUser.set(split.pairs.user[p]!, [split.pairs.item[p]!]);
  }
  const userRows = [...byUser.keys()];
  if (userRows.length === 0) return Number.NaN;
  const catalogue = data.items.count;
  let sum = 0;
  let terms = 0;
  for (let start = 0; start < userRows.length; start += batchSize) {
    const rows = userRows.slice(start, start + batchSize);
    const targets = new Float32Array(rows.length * catalogue);
    rows.forEach((u, b) => {
      for (const it of byUser.get(u)!) targets[b * catalogue + it]! += 1;
    });
    const count = targets.reduce((a, v) => a + v, 0);
    sum += count * tf.tidy(() => fullSoftmaxLoss(scoreAll(model, gatherUsers(split.users, rows), {}), tf.tensor2d(targets, [rows.length, catalogue])).dataSync()[0]!);
    terms += count;
  }
  return sum / terms;
}

/**
 * Trains the history model: an epoch is one pass over the training users with at least two events, each row a
 * freshly drawn example (so the same user is a new example every epoch); AdamW; the epoch kept and the stop
 * decided as in trainTwoTower (validation metric from the hook, loss breaking ties, patience).
 */
export async function trainHistoryTwoTower(
  config: TwoTowerConfig,
  data: TrainingData,
  options: TrainOptions & HistoryTaskOptions,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const sequences = data.sequences;
  if (!sequences) throw new RangeError("the history model needs each training user's event sequence (TrainingData.sequences)");
  const eligible = Int32Array.from(
    Array.from({ length: sequences.offsets.length - 1 }, (_, u) => u).filter((u) => sequences.offsets[u + 1]! - sequences.offsets[u]! >= 2),
  );
  if (eligible.length === 0) throw new RangeError("no training user has two or more events: the history model has nothing to learn from");
  const model = TwoTowerModel.create(config, options.seed, data.items);
  const optimizer = new AdamOptimizer({ weightDecay: options.weightDecay, decoupled: true });
  const rng = createSeededRandom(options.seed + 1);
  const stepsPerEpoch = Math.ceil(eligible.length / options.batchSize);
  const totalSteps = stepsPerEpoch * options.epochs;
  const epochs: TrainEpochLog[] = [];
  const selection = new EpochSelection(options);
  let globalStep = 0;
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      rng.shuffle(eligible);
      hooks.onEpochStart?.(epoch, stepsPerEpoch);
      const started = performance.now();
      const cpuStarted = process.cpuUsage();
      let lossSum = 0;
      let normSum = 0;
      let learningRate = options.learningRate;
      for (let step = 0; step < stepsPerEpoch; step++) {
        const rows = eligible.subarray(step * options.batchSize, Math.min(eligible.length, (step + 1) * options.batchSize));
        const batch = assembleHistoryBatch(data, sequences, rows, config.sequenceLength, options, rng);
        learningRate = learningRateAt({
          schedule: options.schedule,
          base: options.learningRate,
          step: globalStep,
          totalSteps,
          stepsPerEpoch,
          warmupSteps: options.warmupSteps,
        });
        const { loss, gradNorm } = historyTrainStep(model, optimizer, batch, { dropout: options.dropout, dropoutSeed: options.seed * 1_000_003 + globalStep }, learningRate);
        if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss} at epoch ${epoch} step ${step + 1}; lower --lr`);
        lossSum += loss;
        normSum += gradNorm;
        globalStep++;
        hooks.onStep?.({ epoch, step: step + 1, steps: stepsPerEpoch, loss });
        if (step % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
      }
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuStarted);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const validationLoss = historyValidationLoss(model, data, data.validation, options.batchSize);
      const log: TrainEpochLog = {
        epoch,
        trainLoss: lossSum / stepsPerEpoch,
        validationLoss,
        gradNorm: normSum / stepsPerEpoch,
        learningRate,
        seconds,
        cpuSeconds,
        samplesPerSecond: eligible.length / seconds,
        ...hooks.epochMetrics?.(model),
      };
      epochs.push(log);
      hooks.onEpochEnd?.(log);
      const metric = options.selectOn === "loss" ? undefined : log[`validation ${options.selectOn}`];
      if (selection.endOfEpoch(epoch, validationLoss, metric, model)) break;
    }
  } finally {
    optimizer.dispose();
  }
  selection.restoreBest(model);
  return { model, epochs, bestEpoch: selection.bestEpoch, stoppedEarly: selection.stoppedEarly, selectedOn: selection.selectedOn };
}
