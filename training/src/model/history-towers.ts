import type { ItemTensors, UserTensors } from "@funnel/two-tower";
import * as tf from "@tensorflow/tfjs";
import { embeddingBag, weightedEmbeddingBag } from "./embedding-bag.js";
import { dense, matMul } from "./mat-mul.js";
import { recencyBucketCount, slotBuckets } from "./recency-buckets.js";
import type { TwoTowerConfig } from "./two-tower-model.js";

/**
 * The "history" two-tower (training/README.md, "The history model"):
 * - item vector = item-id embedding + linear maps of the item's categories, page, interaction kind and numeric
 *   features, all in one space of width dim − 1; the last output coordinate is a per-item bias;
 * - user vector = the user's history as a bag of those same item vectors, weighted by a learned weight per
 *   recency bucket and divided by √(sum of weights), then a residual MLP with dropout on its input; its last
 *   coordinate is a constant 1, so the plain dot product the vector index computes is u·v + bias.
 * The bias rides in the vectors so serving (inner product over ONNX tower outputs) needs no change.
 */
export function historyWidth(c: TwoTowerConfig): number {
  return c.dim - 1;
}

export function historyParameterShapes(c: TwoTowerConfig): Record<string, [number, number] | [number]> {
  const d = historyWidth(c);
  const context = c.userContext
    ? {
        "emb.device": [c.vocab.device, d] as [number, number],
        "emb.userPage": [c.vocab.page, d] as [number, number],
        "emb.userAttribute": [c.vocab.userAttribute, d] as [number, number],
        ...((c.userIdBuckets ?? 0) > 0 ? { "emb.userId": [c.userIdBuckets! + 1, d] as [number, number] } : {}),
        ...(c.userNumericSize > 0 ? { "user.numeric.kernel": [c.userNumericSize, d] as [number, number] } : {}),
      }
    : {};
  return {
    "emb.item": [c.vocab.item, d],
    "emb.category": [c.vocab.category, d],
    "emb.page": [c.vocab.page, d],
    "emb.interaction": [c.vocab.interaction, d],
    ...(c.itemNumericSize > 0 ? { "item.numeric.kernel": [c.itemNumericSize, d] as [number, number] } : {}),
    // Not "emb." and not ".kernel": initialised to zero, so every item and every recency bucket start equal.
    "item.bias": [c.vocab.item, 1],
    "user.recency": [recencyBucketCount(c.sequenceLength)],
    ...context,
    "user.dense0.kernel": [d, c.hidden],
    "user.dense0.bias": [c.hidden],
    "user.dense1.kernel": [c.hidden, d],
    "user.dense1.bias": [d],
  };
}

type Weights = (name: string) => tf.Tensor;

/** Item vectors without the bias, [count, dim − 1]. */
export function historyItemVectors(c: TwoTowerConfig, w: Weights, items: ItemTensors): tf.Tensor2D {
  const n = items.count;
  const parts: tf.Tensor2D[] = [
    embeddingBag(w("emb.item") as tf.Tensor2D, items.itemIndex, n, 1, "none"),
    embeddingBag(w("emb.category") as tf.Tensor2D, items.category, n, c.categorySlots, "masked-mean"),
    embeddingBag(w("emb.page") as tf.Tensor2D, items.page, n, 1, "none"),
    embeddingBag(w("emb.interaction") as tf.Tensor2D, items.interaction, n, 1, "none"),
  ];
  if (c.itemNumericSize > 0) parts.push(matMul(tf.tensor2d(items.numeric, [n, c.itemNumericSize]), w("item.numeric.kernel") as tf.Tensor2D));
  return tf.addN(parts) as tf.Tensor2D;
}

/** Item tower output: [vector ‖ bias], [count, dim]. */
export function historyItemTower(c: TwoTowerConfig, w: Weights, items: ItemTensors): tf.Tensor2D {
  const bias = embeddingBag(w("item.bias") as tf.Tensor2D, items.itemIndex, items.count, 1, "none");
  return tf.concat([historyItemVectors(c, w, items), bias], 1);
}

/**
 * The vector of every item-vocabulary index, [vocab.item, dim − 1]: what a history slot holding that index
 * reads. Rows 0 (padding, masked out anyway) and 1 (an item unknown to the spec) have no features, only their
 * id embedding; row k ≥ 2 is catalogue row k − 2 (buildRetrievalTask encodes the catalogue in vocabulary order).
 */
export function historyItemTable(c: TwoTowerConfig, w: Weights, catalogue: ItemTensors): tf.Tensor2D {
  checkCatalogue(c, catalogue);
  const special = embeddingBag(w("emb.item") as tf.Tensor2D, Int32Array.from([0, 1]), 2, 1, "none");
  return tf.concat([special, historyItemVectors(c, w, catalogue)], 0);
}

export function checkCatalogue(c: TwoTowerConfig, catalogue: ItemTensors): void {
  if (catalogue.count !== c.vocab.item - 2) {
    throw new RangeError(`history model: the catalogue has ${catalogue.count} items, the item vocabulary ${c.vocab.item - 2}`);
  }
  for (let r = 0; r < catalogue.count; r++) {
    if (catalogue.itemIndex[r] !== r + 2) throw new RangeError(`history model: catalogue row ${r} has item index ${catalogue.itemIndex[r]}, expected ${r + 2} (vocabulary order)`);
  }
}

export interface HistoryForward {
  /** Dropout rate on the MLP's input while training. */
  dropout?: number;
  dropoutSeed?: number;
}

/**
 * User tower output [count, dim]: Σ_slots w(bucket)·table[item] / √Σ w over the non-padding slots, plus the
 * user's funnel context when the config has it, then x + MLP(dropout(x)), and a constant 1 for the item bias.
 */
export function historyUserTower(c: TwoTowerConfig, w: Weights, table: tf.Tensor2D, users: UserTensors, options: HistoryForward = {}): tf.Tensor2D {
  const n = users.count;
  const L = c.sequenceLength;
  const mask = tf.tensor2d(Float32Array.from(users.recentItems, (i) => (i > 0 ? 1 : 0)), [n, L]);
  // exp(weight of each slot's bucket) as a one-hot sum: tf.gather's gradient (UnsortedSegmentSum) is missing on WASM.
  const buckets = slotBuckets(L);
  const recency = w("user.recency");
  const oneHot = tf.tensor2d(Float32Array.from({ length: recency.size * L }, (_, k) => (buckets[k % L] === Math.floor(k / L) ? 1 : 0)), [recency.size, L]);
  const perSlot = tf.sum(tf.mul(tf.expandDims(tf.exp(recency), 1), oneHot), 0); // [L]
  const weights = tf.mul(mask, perSlot) as tf.Tensor2D; // [n, L]
  const sum = weightedEmbeddingBag(table, weights, users.recentItems, n, L); // [n, d]
  const norm = tf.sqrt(tf.maximum(tf.sum(weights, 1, true), HISTORY_EPSILON));
  let x = tf.div(sum, norm) as tf.Tensor2D;
  if (c.userContext) x = tf.add(x, historyUserContext(c, w, users)) as tf.Tensor2D;
  const input = options.dropout && options.dropout > 0 ? (tf.dropout(x, options.dropout, undefined, options.dropoutSeed) as tf.Tensor2D) : x;
  const hidden = dense(input, w("user.dense0.kernel") as tf.Tensor2D, w("user.dense0.bias") as tf.Tensor1D, "relu");
  const out = tf.add(input, dense(hidden, w("user.dense1.kernel") as tf.Tensor2D, w("user.dense1.bias") as tf.Tensor1D, "linear")) as tf.Tensor2D;
  return tf.concat([out, tf.ones([n, 1])], 1);
}

/** Floor of √Σ weights: a history of only padding embeds as zeros, not NaN. The ONNX export uses the same. */
export const HISTORY_EPSILON = 1e-12;

/** The funnel inputs as linear maps into the item space: device, pages of the history, attributes, id, numbers. */
function historyUserContext(c: TwoTowerConfig, w: Weights, users: UserTensors): tf.Tensor2D {
  const n = users.count;
  const parts: tf.Tensor2D[] = [
    embeddingBag(w("emb.device") as tf.Tensor2D, users.device, n, 1, "none"),
    embeddingBag(w("emb.userPage") as tf.Tensor2D, users.recentPages, n, c.sequenceLength, "masked-mean"),
    embeddingBag(w("emb.userAttribute") as tf.Tensor2D, users.attributes, n, c.attributeSlots, "masked-mean"),
  ];
  if ((c.userIdBuckets ?? 0) > 0) parts.push(embeddingBag(w("emb.userId") as tf.Tensor2D, users.userId, n, 1, "masked-mean"));
  if (c.userNumericSize > 0) parts.push(matMul(tf.tensor2d(users.numeric, [n, c.userNumericSize]), w("user.numeric.kernel") as tf.Tensor2D));
  return tf.addN(parts) as tf.Tensor2D;
}
