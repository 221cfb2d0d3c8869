import * as tf from "@tensorflow/tfjs";
import { matMulTransposeB } from "./mat-mul.js";

/** Logit given to a batch column that holds the row's own positive item again: never a negative for that row. */
const MASKED_LOGIT = -1e9;

export interface InBatchLossInput {
  /** [batch, dim] user embeddings. */
  users: tf.Tensor2D;
  /** [batch, dim] embeddings of each user's positive item (row i is user i's positive). */
  items: tf.Tensor2D;
  temperature: number;
  /**
   * log of each batch item's sampling probability (its share of training positives), one per row. Subtracted
   * from the logits (logQ correction) so popular items are not over-penalised just for showing up as in-batch
   * negatives more often.
   */
  logQ?: Float32Array;
  /** Item ids of the batch columns: a column with the same item as row i's positive is masked for row i. */
  itemIds?: Int32Array;
  /** Optional extra negatives (e.g. uniformly sampled items) shared by every row, with their own log q. */
  extra?: { items: tf.Tensor2D; logQ: Float32Array; itemIds?: Int32Array };
}

/**
 * Sampled softmax over the batch's items: for user i the positive is column i, every other column (and every
 * extra negative) is a negative. logits_ij = u_i·v_j / T − log q_j, loss = mean_i (logsumexp_j logits_ij −
 * logits_ii).
 */
export function inBatchSoftmaxLoss(input: InBatchLossInput): tf.Scalar {
  const { users, items, temperature } = input;
  const batch = users.shape[0];
  if (items.shape[0] !== batch) throw new RangeError(`inBatchSoftmaxLoss: ${batch} users but ${items.shape[0]} items`);
  if (!(temperature > 0)) throw new RangeError(`inBatchSoftmaxLoss: temperature must be > 0, got ${temperature}`);
  const extraCount = input.extra ? input.extra.items.shape[0] : 0;
  const columns = batch + extraCount;
  const candidates = input.extra ? tf.concat([items, input.extra.items], 0) : items;
  const bias = new Float32Array(batch * columns);
  const columnLogQ = new Float32Array(columns);
  if (input.logQ) columnLogQ.set(input.logQ.subarray(0, batch), 0);
  if (input.extra) columnLogQ.set(input.extra.logQ, batch);
  const columnIds = input.itemIds ? new Int32Array(columns).fill(-1) : undefined;
  if (columnIds && input.itemIds) {
    columnIds.set(input.itemIds, 0);
    if (input.extra?.itemIds) columnIds.set(input.extra.itemIds, batch);
  }
  for (let i = 0; i < batch; i++) {
    const positive = input.itemIds?.[i];
    for (let j = 0; j < columns; j++) {
      const duplicate = columnIds !== undefined && j !== i && columnIds[j] === positive;
      bias[i * columns + j] = duplicate ? MASKED_LOGIT : -columnLogQ[j]!;
    }
  }
  const logits = tf.add(tf.div(matMulTransposeB(users, candidates), temperature), tf.tensor2d(bias, [batch, columns]));
  return diagonalSoftmaxCrossEntropy(logits as tf.Tensor2D);
}

/** Probabilities below this are clamped before the log: a per-row loss is capped at about 87 instead of Infinity. */
const MIN_PROBABILITY = 1e-38;

/**
 * mean_i (logsumexp_j logits_ij − logits_ii) = mean_i −log softmax(logits)_ii, with the analytic gradient
 * (softmax − I) / batch.
 *
 * Why custom: tf's logSumExp gradient goes through max's gradient, an Equal over the broadcast [batch, columns]
 * matrix that took 28 ms per step on WASM, as long as all the step's matMuls together; and WASM's Exp is several
 * times slower than its fused Softmax. One Softmax kernel serves both the value and the gradient.
 */
export function diagonalSoftmaxCrossEntropy(logits: tf.Tensor2D): tf.Scalar {
  const [batch, columns] = logits.shape;
  if (columns < batch) throw new RangeError(`diagonalSoftmaxCrossEntropy: ${columns} columns cannot hold the diagonal of ${batch} rows`);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const probabilities = tf.softmax(args[0] as tf.Tensor2D).dataSync() as Float32Array;
    let sum = 0;
    for (let i = 0; i < batch; i++) sum -= Math.log(Math.max(probabilities[i * columns + i]!, MIN_PROBABILITY));
    return {
      value: tf.scalar(sum / batch),
      gradFunc: (dy: tf.Tensor) => {
        const scale = (dy.dataSync()[0] ?? 1) / batch;
        const grad = new Float32Array(probabilities.length);
        for (let k = 0; k < grad.length; k++) grad[k] = probabilities[k]! * scale;
        for (let i = 0; i < batch; i++) grad[i * columns + i]! -= scale;
        return [tf.tensor2d(grad, [batch, columns])];
      },
    };
  });
  return op(logits) as tf.Scalar;
}
