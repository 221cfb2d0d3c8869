import * as tf from "@tensorflow/tfjs";
import { createSeededRandom } from "../data/seeded-random.js";
import { AdamOptimizer } from "../model/adam-optimizer.js";
import { learningRateAt } from "../model/learning-rate-schedule.js";
import type { TrainEpochLog, TrainHooks } from "../model/train-two-tower.js";
import { padBatch, TextTransformerModel, type TextTransformerConfig, type TextTransformerWeights } from "./text-transformer-model.js";

export interface TextTrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Linear warm-up steps before the cosine decay. */
  warmupSteps: number;
  weightDecay: number;
  dropout: number;
  /** Epochs without a better validation accuracy before stopping. */
  patience: number;
  /** Global gradient-norm clip. */
  clipNorm: number;
  seed: number;
}

export const DEFAULT_TEXT_TRAIN_OPTIONS: TextTrainOptions = {
  epochs: 8,
  batchSize: 64,
  learningRate: 1e-3,
  warmupSteps: 200,
  weightDecay: 0,
  dropout: 0.1,
  patience: 2,
  clipNorm: 1,
  seed: 7,
};

/** Encoded rows: token ids ([CLS] … [SEP]) and class labels. */
export interface EncodedSet {
  ids: number[][];
  labels: number[];
}

export type TextEpochLog = TrainEpochLog & { "validation accuracy": number };

export interface TextTrainResult {
  model: TextTransformerModel;
  epochs: TextEpochLog[];
  bestEpoch: number;
  bestValidationAccuracy: number;
  stoppedEarly: boolean;
}

export interface TextTrainHooks extends Pick<TrainHooks, "onEpochStart" | "onStep"> {
  onEpochEnd?: (log: TextEpochLog) => void;
  /** Called with the weights of each new best epoch (e.g. to checkpoint them). */
  onBest?: (weights: TextTransformerWeights, log: TextEpochLog) => Promise<void> | void;
}

/** Rows of a pool this many batches large are sorted by length, so a batch pads to similar lengths. */
const BUCKET_POOL_BATCHES = 50;

/**
 * Batches for one epoch: shuffled, then length-bucketed within pools of BUCKET_POOL_BATCHES batches (less
 * padding, which is most of the cost with short reviews), then the batch order shuffled again.
 */
export function epochBatches(lengths: readonly number[], batchSize: number, seed: number): number[][] {
  const random = createSeededRandom(seed);
  const order = random.shuffle(lengths.map((_, i) => i));
  const batches: number[][] = [];
  const pool = batchSize * BUCKET_POOL_BATCHES;
  for (let start = 0; start < order.length; start += pool) {
    const chunk = order.slice(start, start + pool).sort((a, b) => lengths[a]! - lengths[b]!);
    for (let b = 0; b < chunk.length; b += batchSize) batches.push(chunk.slice(b, b + batchSize));
  }
  return random.shuffle(batches);
}

/** Trains with Adam, a warm-up + cosine schedule, gradient clipping and early stopping on validation accuracy; returns the best epoch's model. */
export async function trainTextClassifier(
  config: TextTransformerConfig,
  initial: TextTransformerWeights,
  train: EncodedSet,
  validation: EncodedSet,
  options: TextTrainOptions,
  hooks: TextTrainHooks = {},
): Promise<TextTrainResult> {
  const model = new TextTransformerModel(config, initial);
  // Decay kernels only: decaying embeddings, biases and LayerNorm gains hurts small transformers.
  const optimizer = new AdamOptimizer({ weightDecay: options.weightDecay, decays: (name) => name.endsWith(".kernel") });
  const names = Object.keys(model.variables);
  const variables = names.map((n) => model.variables[n]!);
  const byVariableName = new Map(names.map((n) => [model.variables[n]!.name, n]));
  const stepsPerEpoch = Math.ceil(train.ids.length / options.batchSize);
  const totalSteps = stepsPerEpoch * options.epochs;
  const epochs: TextEpochLog[] = [];
  let best = { epoch: 0, accuracy: -1, weights: model.weights() };
  let step = 0;
  let stoppedEarly = false;
  const lengths = train.ids.map((r) => r.length);
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const batches = epochBatches(lengths, options.batchSize, options.seed * 7919 + epoch);
      hooks.onEpochStart?.(epoch, batches.length);
      const started = performance.now();
      let lossSum = 0;
      let normSum = 0;
      let learningRate = options.learningRate;
      for (const [i, rows] of batches.entries()) {
        learningRate = learningRateAt({ schedule: "cosine", base: options.learningRate, step, totalSteps, stepsPerEpoch, warmupSteps: options.warmupSteps });
        const batch = padBatch(rows.map((r) => train.ids[r]!));
        const labels = Int32Array.from(rows, (r) => train.labels[r]!);
        const { loss, gradNorm } = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => {
            const logits = model.logits(batch, { dropout: options.dropout, seed: options.seed * 1_000_003 + step * 64 });
            return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, "int32"), config.numLabels), logits) as tf.Scalar;
          }, variables);
          const named: Record<string, tf.Tensor> = {};
          for (const [variableName, g] of Object.entries(grads)) named[byVariableName.get(variableName)!] = g;
          const normSquared = tf.addN(Object.values(named).map((g) => tf.sum(tf.square(g))));
          const [l, squared] = tf.stack([value, normSquared]).dataSync() as Float32Array;
          const norm = Math.sqrt(squared!);
          const scale = norm > options.clipNorm ? options.clipNorm / norm : 1;
          if (scale < 1) for (const n of Object.keys(named)) named[n] = tf.mul(named[n]!, scale);
          optimizer.apply(model.variables, named, learningRate);
          return { loss: l!, gradNorm: norm };
        });
        lossSum += loss;
        normSum += gradNorm;
        step++;
        hooks.onStep?.({ epoch, step: i + 1, steps: batches.length, loss });
      }
      const seconds = (performance.now() - started) / 1000;
      const evaluation = evaluateClassifier(model, validation);
      const log: TextEpochLog = {
        epoch,
        trainLoss: lossSum / batches.length,
        validationLoss: evaluation.loss,
        gradNorm: normSum / batches.length,
        learningRate,
        seconds,
        samplesPerSecond: train.ids.length / seconds,
        "validation accuracy": evaluation.accuracy,
      };
      epochs.push(log);
      hooks.onEpochEnd?.(log);
      if (evaluation.accuracy > best.accuracy) {
        best = { epoch, accuracy: evaluation.accuracy, weights: model.weights() };
        await hooks.onBest?.(best.weights, log);
      } else if (epoch - best.epoch >= options.patience) {
        stoppedEarly = true;
        break;
      }
    }
  } finally {
    optimizer.dispose();
  }
  model.dispose();
  return { model: new TextTransformerModel(config, best.weights), epochs, bestEpoch: best.epoch, bestValidationAccuracy: best.accuracy, stoppedEarly };
}

export interface ClassifierEvaluation {
  loss: number;
  accuracy: number;
  /** Predicted class per row, in input order. */
  predictions: Int32Array;
  /** Row-major [rows, numLabels] probabilities. */
  probabilities: Float32Array;
}

/** Mean cross-entropy, accuracy and predictions without dropout, in length-sorted batches (less padding). */
export function evaluateClassifier(model: TextTransformerModel, set: EncodedSet, batchSize = 256): ClassifierEvaluation {
  const k = model.config.numLabels;
  const order = set.ids.map((_, i) => i).sort((a, b) => set.ids[a]!.length - set.ids[b]!.length);
  const probabilities = new Float32Array(set.ids.length * k);
  for (let start = 0; start < order.length; start += batchSize) {
    const rows = order.slice(start, start + batchSize);
    const p = model.predict(padBatch(rows.map((r) => set.ids[r]!)));
    for (const [j, r] of rows.entries()) probabilities.set(p.subarray(j * k, (j + 1) * k), r * k);
  }
  const predictions = new Int32Array(set.ids.length);
  let loss = 0;
  let correct = 0;
  for (let r = 0; r < set.ids.length; r++) {
    let arg = 0;
    for (let c = 1; c < k; c++) if (probabilities[r * k + c]! > probabilities[r * k + arg]!) arg = c;
    predictions[r] = arg;
    if (arg === set.labels[r]) correct++;
    loss -= Math.log(Math.max(probabilities[r * k + set.labels[r]!]!, 1e-12));
  }
  const n = Math.max(1, set.ids.length);
  return { loss: loss / n, accuracy: correct / n, predictions, probabilities };
}
