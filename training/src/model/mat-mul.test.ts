import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "./init-backend.js";
import { matMul } from "./mat-mul.js";

describe("matMul", () => {
  beforeAll(() => initBackend({ prefer: "wasm" }));

  it("has the value and gradients of tf.matMul", () => {
    const a = tf.tensor2d(Float32Array.from({ length: 12 }, (_, i) => Math.cos(i)), [3, 4]);
    const b = tf.tensor2d(Float32Array.from({ length: 20 }, (_, i) => Math.sin(i * 0.7)), [4, 5]);
    const up = tf.tensor2d(Float32Array.from({ length: 15 }, (_, i) => i - 7), [3, 5]);
    const loss = (f: typeof matMul) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor2D, y as tf.Tensor2D), up));
    const [fa, fb] = tf.grads(loss(matMul))([a, b]);
    const [ta, tb] = tf.grads(loss((x, y) => tf.matMul(x, y)))([a, b]);
    expect(Array.from(matMul(a, b).dataSync())).toEqual(Array.from(tf.matMul(a, b).dataSync()).map((v) => expect.closeTo(v, 5)));
    expect(Array.from(fa!.dataSync())).toEqual(Array.from(ta!.dataSync()).map((v) => expect.closeTo(v, 5)));
    expect(Array.from(fb!.dataSync())).toEqual(Array.from(tb!.dataSync()).map((v) => expect.closeTo(v, 5)));
  });
});
