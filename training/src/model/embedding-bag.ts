import * as tf from "@tensorflow/tfjs";

/**
 * Embedding lookup with a hand-written gradient, optionally mean-pooled over a sequence.
 *
 * Why not tf.gather: its gradient is an UnsortedSegmentSum, which the WASM backend does not implement at all and
 * the cpu backend runs pathologically slowly (25 s for a 10,000-row table). Doing both directions in JS over the
 * table's Float32Array costs O(batch × length × width) and never materialises a [batch, length, width] tensor.
 *
 * `indices` is batch × length, row-major. With `pool: "masked-mean"`, index 0 (padding) is skipped and each row
 * is the mean of its non-padding embeddings (a row of only padding gives zeros), which is exactly what the ONNX
 * export computes with Gather → mask → ReduceSum / count. With `pool: "none"` length must be 1.
 */
export function embeddingBag(
  table: tf.Tensor2D,
  indices: Int32Array,
  batch: number,
  length: number,
  pool: "masked-mean" | "none",
): tf.Tensor2D {
  const [rows, width] = table.shape;
  if (indices.length !== batch * length) {
    throw new RangeError(`embeddingBag: indices has ${indices.length} entries, expected batch ${batch} × length ${length}`);
  }
  if (pool === "none" && length !== 1) throw new RangeError(`embeddingBag: pool "none" needs length 1, got ${length}`);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    if (index < 0 || index >= rows) throw new RangeError(`embeddingBag: index ${index} at position ${i} is outside the table's ${rows} rows`);
  }
  const weights = bagWeights(indices, batch, length, pool);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args[0] as tf.Tensor;
    const out = new Float32Array(batch * width);
    bagForward(t.dataSync() as Float32Array, width, indices, weights, batch, length, out, width, 0);
    return {
      value: tf.tensor2d(out, [batch, width]),
      gradFunc: (dy: tf.Tensor) => {
        const grad = new Float32Array(rows * width);
        bagBackward(dy.dataSync() as Float32Array, width, 0, indices, weights, batch, length, grad, width);
        return [tf.tensor2d(grad, [rows, width])];
      },
    };
  });
  return op(table) as tf.Tensor2D;
}

/** Per-slot weight: 1/count of the row's non-padding slots when pooling, 1 otherwise (0 for skipped slots). */
export function bagWeights(indices: Int32Array, batch: number, length: number, pool: "masked-mean" | "none"): Float32Array {
  const weights = new Float32Array(indices.length);
  for (let b = 0; b < batch; b++) {
    let count = 0;
    for (let l = 0; l < length; l++) if (pool === "none" || indices[b * length + l] !== 0) count++;
    const w = count === 0 ? 0 : 1 / count;
    for (let l = 0; l < length; l++) weights[b * length + l] = pool === "none" || indices[b * length + l] !== 0 ? w : 0;
  }
  return weights;
}

/** Adds each row's weighted embeddings into columns [offset, offset + width) of a row-major [batch, stride] array. */
export function bagForward(
  table: Float32Array,
  width: number,
  indices: Int32Array,
  weights: Float32Array,
  batch: number,
  length: number,
  out: Float32Array,
  stride: number,
  offset: number,
): void {
  for (let b = 0; b < batch; b++) {
    const o = b * stride + offset;
    for (let l = 0; l < length; l++) {
      const slot = b * length + l;
      const w = weights[slot]!;
      if (w === 0) continue;
      const r = indices[slot]! * width;
      for (let k = 0; k < width; k++) out[o + k]! += w * table[r + k]!;
    }
  }
}

/** Scatter-adds the gradient held in columns [offset, offset + width) of a [batch, stride] array into the table's. */
export function bagBackward(
  dy: Float32Array,
  stride: number,
  offset: number,
  indices: Int32Array,
  weights: Float32Array,
  batch: number,
  length: number,
  grad: Float32Array,
  width: number,
): void {
  for (let b = 0; b < batch; b++) {
    const o = b * stride + offset;
    for (let l = 0; l < length; l++) {
      const slot = b * length + l;
      const w = weights[slot]!;
      if (w === 0) continue;
      const r = indices[slot]! * width;
      for (let k = 0; k < width; k++) grad[r + k]! += w * dy[o + k]!;
    }
  }
}

/**
 * Σ_l weights[b, l] · table[indices[b, l]] per row b, [batch, width], with gradients to both the table and the
 * weights (the history model's learned recency weights). Written out in JS like embeddingBag: as tf ops it was a
 * [batch, length, width] tensor, a broadcast multiply and a sum over the middle axis, which WASM runs by
 * transposing first; this is one pass over the slots in each direction.
 */
export function weightedEmbeddingBag(table: tf.Tensor2D, weights: tf.Tensor2D, indices: Int32Array, batch: number, length: number): tf.Tensor2D {
  const [rows, width] = table.shape;
  if (indices.length !== batch * length) {
    throw new RangeError(`weightedEmbeddingBag: indices has ${indices.length} entries, expected batch ${batch} × length ${length}`);
  }
  if (weights.shape[0] !== batch || weights.shape[1] !== length) {
    throw new RangeError(`weightedEmbeddingBag: weights are [${weights.shape}], expected [${batch}, ${length}]`);
  }
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    if (index < 0 || index >= rows) throw new RangeError(`weightedEmbeddingBag: index ${index} at position ${i} is outside the table's ${rows} rows`);
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [t, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([t, w]);
    const out = new Float32Array(batch * width);
    bagForward(t.dataSync() as Float32Array, width, indices, w.dataSync() as Float32Array, batch, length, out, width, 0);
    return {
      value: tf.tensor2d(out, [batch, width]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [st, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
        const g = dy.dataSync() as Float32Array;
        const values = st.dataSync() as Float32Array;
        const tableGrad = new Float32Array(rows * width);
        bagBackward(g, width, 0, indices, sw.dataSync() as Float32Array, batch, length, tableGrad, width);
        // d/dw[b, l] = ⟨dy[b], table[indices[b, l]]⟩.
        const weightGrad = new Float32Array(batch * length);
        for (let b = 0; b < batch; b++) {
          for (let l = 0; l < length; l++) {
            const r = indices[b * length + l]! * width;
            let dot = 0;
            for (let k = 0; k < width; k++) dot += g[b * width + k]! * values[r + k]!;
            weightGrad[b * length + l] = dot;
          }
        }
        return [tf.tensor2d(tableGrad, [rows, width]), tf.tensor2d(weightGrad, [batch, length])];
      },
    };
  });
  return op(table, weights) as tf.Tensor2D;
}
