import * as tf from "@tensorflow/tfjs";
import { matMulTransposeB } from "./mat-mul.js";

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
  const candidates = input.extra ? tf.concat([items, input.extra.items], 0) : items;
  const { columnLogQ, columnIds } = candidateColumns(batch, input.logQ, input.itemIds, input.extra);
  return sampledSoftmaxLoss(matMulTransposeB(users, candidates), { temperature, columnLogQ, columnIds });
}

/** Per-column log q and item id of the candidates (batch items, then extra negatives). */
export function candidateColumns(
  batch: number,
  logQ: Float32Array | undefined,
  itemIds: Int32Array | undefined,
  extra: { count: number; logQ: Float32Array; itemIds?: Int32Array } | { items: tf.Tensor2D; logQ: Float32Array; itemIds?: Int32Array } | undefined,
): { columnLogQ: Float32Array; columnIds?: Int32Array } {
  const extraCount = extra ? ("count" in extra ? extra.count : extra.items.shape[0]) : 0;
  const columns = batch + extraCount;
  const columnLogQ = new Float32Array(columns);
  if (logQ) columnLogQ.set(logQ.subarray(0, batch), 0);
  if (extra) columnLogQ.set(extra.logQ, batch);
  if (!itemIds) return { columnLogQ };
  const columnIds = new Int32Array(columns).fill(-1);
  columnIds.set(itemIds, 0);
  if (extra?.itemIds) columnIds.set(extra.itemIds, batch);
  return { columnLogQ, columnIds };
}

/**
 * The loss on raw scores s = u·vᵀ, all in one JS pass over the [batch, columns] matrix:
 * logits_ij = s_ij / T − log q_j, masked to −∞ where column j repeats row i's positive (j ≠ i); loss = mean_i
 * (logsumexp_j logits_ij − logits_ii); gradient (softmax − I) / (batch · T), 0 at masked entries.
 *
 * Why custom: tf's logSumExp gradient goes through max's gradient, an Equal over the broadcast matrix that took
 * 28 ms per step on WASM (as long as all the step's matMuls together), and building the logQ/mask matrix as a
 * tensor cost another upload and two kernels. One read of the scores serves both value and gradient.
 */
export function sampledSoftmaxLoss(
  scores: tf.Tensor2D,
  options: { temperature: number; columnLogQ?: Float32Array; columnIds?: Int32Array },
): tf.Scalar {
  const [batch, columns] = scores.shape;
  if (columns < batch) throw new RangeError(`sampledSoftmaxLoss: ${columns} columns cannot hold the diagonal of ${batch} rows`);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const { loss, grad } = softmaxLossGradient((args[0] as tf.Tensor2D).dataSync() as Float32Array, batch, columns, options);
    return {
      value: tf.scalar(loss),
      gradFunc: (dy: tf.Tensor) => {
        const upstream = dy.dataSync()[0] ?? 1;
        return [tf.tensor2d(upstream === 1 ? grad : grad.map((g) => g * upstream), [batch, columns])];
      },
    };
  });
  return op(scores) as tf.Scalar;
}

/**
 * The loss and its gradient with respect to the raw [batch, columns] scores, in plain JS (see sampledSoftmaxLoss).
 *
 * With `rows`, `s` holds only rows [start, start + count) of the batch's scores and the result covers those rows:
 * the loss is their share of the batch mean (the shares of all rows add up to the loss), which lets the
 * parallel-tower trainer split the pass between its two workers.
 */
export function softmaxLossGradient(
  s: Float32Array,
  batch: number,
  columns: number,
  options: { temperature: number; columnLogQ?: Float32Array; columnIds?: Int32Array; rows?: { start: number; count: number } },
): { loss: number; grad: Float32Array } {
  const inverseT = 1 / options.temperature;
  const logQ = options.columnLogQ ?? new Float32Array(columns);
  const ids = options.columnIds;
  const first = options.rows?.start ?? 0;
  const count = options.rows?.count ?? batch;
  if (s.length !== count * columns) throw new RangeError(`softmaxLossGradient: ${s.length} scores for ${count} rows of ${columns} columns`);
  // Columns holding each repeated item id, so the hot loops need no per-entry mask test.
  const repeats = ids ? repeatedColumns(ids) : undefined;
  const grad = new Float32Array(count * columns);
  const row = new Float64Array(columns);
  let total = 0;
  for (let r = 0; r < count; r++) {
    const i = first + r;
    const o = r * columns;
    for (let j = 0; j < columns; j++) row[j] = s[o + j]! * inverseT - logQ[j]!;
    const positiveLogit = row[i]!;
    const masked = repeats?.get(ids![i]!);
    if (masked) for (const j of masked) if (j !== i) row[j] = Number.NEGATIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < columns; j++) if (row[j]! > max) max = row[j]!;
    let sum = 0;
    for (let j = 0; j < columns; j++) {
      const e = Math.exp(row[j]! - max);
      row[j] = e;
      sum += e;
    }
    total += max + Math.log(sum) - positiveLogit;
    const scale = inverseT / (batch * sum);
    for (let j = 0; j < columns; j++) grad[o + j] = row[j]! * scale;
    grad[o + i]! -= inverseT / batch;
  }
  return { loss: total / batch, grad };
}

/** Item id → the columns holding it, for ids that occur more than once. */
function repeatedColumns(ids: Int32Array): Map<number, number[]> {
  const columns = new Map<number, number[]>();
  for (let j = 0; j < ids.length; j++) {
    const list = columns.get(ids[j]!);
    if (list) list.push(j);
    else columns.set(ids[j]!, [j]);
  }
  for (const [id, list] of columns) if (list.length < 2) columns.delete(id);
  return columns;
}
