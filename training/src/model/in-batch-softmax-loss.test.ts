import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { inBatchSoftmaxLoss, sampledSoftmaxLoss } from "./in-batch-softmax-loss.js";
import { initBackend } from "./init-backend.js";

describe("inBatchSoftmaxLoss", () => {
  beforeAll(() => initBackend({ prefer: "wasm" }));

  it("matches a hand-computed two-user case with logQ correction", () => {
    // u1 = (1, 0), u2 = (0, 1); v1 = (0.6, 0.8), v2 = (1, 0); T = 0.5; log q = (-1, -2).
    // Dot products: u1·v1 = 0.6, u1·v2 = 1, u2·v1 = 0.8, u2·v2 = 0.
    // logits row 1 = (0.6/0.5 + 1, 1/0.5 + 2) = (2.2, 4); row 2 = (0.8/0.5 + 1, 0 + 2) = (2.6, 2).
    // loss = mean(logsumexp(2.2, 4) − 2.2, logsumexp(2.6, 2) − 2).
    const row1 = Math.log(Math.exp(2.2) + Math.exp(4)) - 2.2;
    const row2 = Math.log(Math.exp(2.6) + Math.exp(2)) - 2;
    const loss = tf.tidy(() =>
      inBatchSoftmaxLoss({
        users: tf.tensor2d([1, 0, 0, 1], [2, 2]),
        items: tf.tensor2d([0.6, 0.8, 1, 0], [2, 2]),
        temperature: 0.5,
        logQ: Float32Array.from([-1, -2]),
      }).dataSync()[0]!,
    );
    expect(loss).toBeCloseTo((row1 + row2) / 2, 5);
  });

  it("without logQ is plain softmax cross-entropy over the batch", () => {
    const row1 = Math.log(Math.exp(1.2) + Math.exp(2)) - 1.2;
    const row2 = Math.log(Math.exp(1.6) + Math.exp(0)) - 0;
    const loss = tf.tidy(() =>
      inBatchSoftmaxLoss({ users: tf.tensor2d([1, 0, 0, 1], [2, 2]), items: tf.tensor2d([0.6, 0.8, 1, 0], [2, 2]), temperature: 0.5 }).dataSync()[0]!,
    );
    expect(loss).toBeCloseTo((row1 + row2) / 2, 5);
  });

  it("does not count a repeat of the row's own positive as a negative", () => {
    // Both rows have the same item (id 9): each row's only other column is masked, so the loss is 0.
    const loss = tf.tidy(() =>
      inBatchSoftmaxLoss({
        users: tf.tensor2d([1, 0, 0, 1], [2, 2]),
        items: tf.tensor2d([0.6, 0.8, 0.6, 0.8], [2, 2]),
        temperature: 0.5,
        itemIds: Int32Array.from([9, 9]),
      }).dataSync()[0]!,
    );
    expect(loss).toBeCloseTo(0, 6);
  });

  it("adds extra negatives with their own correction", () => {
    // One extra negative w = (0, 1) with log q = 0 joins each row's softmax.
    const row1 = Math.log(Math.exp(1.2) + Math.exp(2) + Math.exp(0)) - 1.2;
    const row2 = Math.log(Math.exp(1.6) + Math.exp(0) + Math.exp(2)) - 0;
    const loss = tf.tidy(() =>
      inBatchSoftmaxLoss({
        users: tf.tensor2d([1, 0, 0, 1], [2, 2]),
        items: tf.tensor2d([0.6, 0.8, 1, 0], [2, 2]),
        temperature: 0.5,
        extra: { items: tf.tensor2d([0, 1], [1, 2]), logQ: Float32Array.from([0]) },
      }).dataSync()[0]!,
    );
    expect(loss).toBeCloseTo((row1 + row2) / 2, 5);
  });

  it("has the value and gradient of tf's softmax cross-entropy on (scores / T − log q) with the diagonal as labels", () => {
    const scores = tf.tensor2d(Float32Array.from({ length: 3 * 5 }, (_, i) => Math.sin(i * 1.3)), [3, 5]);
    const logQ = Float32Array.from([-1, -2.5, -0.5, -3, -1.5]);
    const labels = tf.eye(3, 5);
    const ours = tf.valueAndGrad((x: tf.Tensor) => tf.mul(sampledSoftmaxLoss(x as tf.Tensor2D, { temperature: 0.25, columnLogQ: logQ }), 3))(scores);
    const theirs = tf.valueAndGrad((x: tf.Tensor) =>
      tf.mul(tf.losses.softmaxCrossEntropy(labels, tf.sub(tf.div(x, 0.25), tf.tensor1d(logQ)), undefined, 0, tf.Reduction.MEAN), 3),
    )(scores);
    expect(ours.value.dataSync()[0]).toBeCloseTo(theirs.value.dataSync()[0]!, 5);
    // Gradients are scaled by 3 / T = 12 here, so 5 decimals is float32 agreement.
    expect(Array.from(ours.grad.dataSync())).toEqual(Array.from(theirs.grad.dataSync()).map((v) => expect.closeTo(v, 5)));
  });
});
