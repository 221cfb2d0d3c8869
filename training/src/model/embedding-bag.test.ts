import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { embeddingBag, weightedEmbeddingBag } from "./embedding-bag.js";
import { initBackend } from "./init-backend.js";

const ROWS = 12;
const WIDTH = 5;
const table = Float32Array.from({ length: ROWS * WIDTH }, (_, i) => Math.sin(i * 0.37) * 0.8);
// Batch 3 × length 4 with padding (0) and a repeated index, so masking and accumulation are both exercised.
const indices = Int32Array.from([3, 7, 0, 3, 0, 0, 0, 11, 5, 2, 9, 1]);
const upstream = Float32Array.from({ length: 3 * WIDTH }, (_, i) => (i % 4) - 1.5);

/** tf's own path: gather, multiply by the padding mask, divide by the count. */
function referenceMaskedMean(t: tf.Tensor2D): tf.Tensor2D {
  const gathered = tf.reshape(tf.gather(t, tf.tensor1d(indices, "int32")), [3, 4, WIDTH]);
  const mask = tf.reshape(tf.cast(tf.greater(tf.tensor1d(indices, "int32"), 0), "float32"), [3, 4, 1]);
  return tf.div(tf.sum(tf.mul(gathered, mask), 1), tf.maximum(tf.sum(mask, 1), 1)) as tf.Tensor2D;
}

/** Forward value and gradient of sum(output × upstream) w.r.t. the table. */
function valueAndGrad(f: (t: tf.Tensor2D) => tf.Tensor2D): { value: Float32Array; grad: Float32Array } {
  return tf.tidy(() => {
    const t = tf.tensor2d(table, [ROWS, WIDTH]);
    const up = tf.tensor2d(upstream, [3, WIDTH]);
    const value = f(t).dataSync() as Float32Array;
    const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor2D), up)))(t).dataSync() as Float32Array;
    return { value: Float32Array.from(value), grad: Float32Array.from(grad) };
  });
}

describe("embeddingBag", () => {
  let reference: { value: Float32Array; grad: Float32Array };
  beforeAll(async () => {
    // tf's gather gradient needs UnsortedSegmentSum, which only the cpu backend has; with a 12-row table it is quick.
    await tf.setBackend("cpu");
    reference = valueAndGrad(referenceMaskedMean);
    await initBackend({ prefer: "wasm" });
    await tf.setBackend("wasm");
  });

  it("has the same masked-mean value and table gradient as tf.gather's own gradient", () => {
    expect(tf.getBackend()).toBe("wasm");
    const fast = valueAndGrad((t) => embeddingBag(t, indices, 3, 4, "masked-mean"));
    expect(Array.from(fast.value)).toEqual(Array.from(reference.value).map((v) => expect.closeTo(v, 6)));
    expect(Array.from(fast.grad)).toEqual(Array.from(reference.grad).map((v) => expect.closeTo(v, 6)));
    // Padding row 0 never receives gradient; the twice-used row 3 receives both halves.
    expect(Array.from(fast.grad.subarray(0, WIDTH))).toEqual([0, 0, 0, 0, 0]);
    expect(fast.grad[3 * WIDTH]).toBeCloseTo(2 * (upstream[0]! / 3), 6);
  });

  it("looks single indices up without pooling, padding index included", () => {
    const out = tf.tidy(() => embeddingBag(tf.tensor2d(table, [ROWS, WIDTH]), Int32Array.from([0, 4]), 2, 1, "none").dataSync());
    expect(Array.from(out)).toEqual([...Array.from(table.subarray(0, WIDTH)), ...Array.from(table.subarray(4 * WIDTH, 5 * WIDTH))]);
  });

  it("rejects an index outside the table, naming it", () => {
    expect(() => tf.tidy(() => embeddingBag(tf.tensor2d(table, [ROWS, WIDTH]), Int32Array.from([12]), 1, 1, "none"))).toThrow(
      /index 12 at position 0 is outside the table's 12 rows/,
    );
  });
});

describe("weightedEmbeddingBag", () => {
  const slotWeights = Float32Array.from({ length: 12 }, (_, i) => (indices[i] === 0 ? 0 : 0.3 + 0.1 * i));

  /** Value and gradients w.r.t. the table and the weights of sum(output × upstream). */
  function run(f: (t: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D): Float32Array[] {
    return tf.tidy(() => {
      const t = tf.tensor2d(table, [ROWS, WIDTH]);
      const w = tf.tensor2d(slotWeights, [3, 4]);
      const up = tf.tensor2d(upstream, [3, WIDTH]);
      const [gt, gw] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor2D, y as tf.Tensor2D), up)))([t, w]);
      return [f(t, w), gt!, gw!].map((x) => Float32Array.from(x.dataSync() as Float32Array));
    });
  }

  it("matches gather · weights summed over the slots, value and both gradients, on the cpu backend's own ops", async () => {
    await tf.setBackend("cpu");
    const reference = run((t, w) => tf.sum(tf.mul(tf.reshape(tf.gather(t, tf.tensor1d(indices, "int32")), [3, 4, WIDTH]), tf.expandDims(w, 2)), 1) as tf.Tensor2D);
    await tf.setBackend("wasm");
    const fast = run((t, w) => weightedEmbeddingBag(t, w, indices, 3, 4));
    for (let k = 0; k < 3; k++) expect(Array.from(fast[k]!)).toEqual(Array.from(reference[k]!).map((v) => expect.closeTo(v, 5)));
    // The weight gradient is not trivially zero.
    expect(Math.max(...Array.from(fast[2]!, Math.abs))).toBeGreaterThan(0.1);
  });
});
