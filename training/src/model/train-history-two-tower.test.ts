import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { createSeededRandom } from "../data/index.js";
import { AdamOptimizer } from "./adam-optimizer.js";
import { fullSoftmaxLoss } from "./full-softmax-loss.js";
import { initBackend } from "./init-backend.js";
import { recencyBucket, recencyBucketCount } from "./recency-buckets.js";
import { tinyTrainedModel } from "./testing/tiny-trained-model.js";
import { assembleHistoryBatch, sampleHistoryExample } from "./train-history-two-tower.js";

const TASKS = { taskMix: 0.5, nextItems: 5, dropMin: 0.2, dropMax: 0.5 };

beforeAll(async () => {
  await initBackend({ prefer: "wasm" });
});

describe("recency buckets", () => {
  it("are 0, 1, 2–3, 4–7, 8–15, … events back", () => {
    expect([0, 1, 2, 3, 4, 7, 8, 15, 16, 99].map(recencyBucket)).toEqual([0, 1, 2, 2, 3, 3, 4, 4, 5, 7]);
    expect(recencyBucketCount(20)).toBe(6);
    expect(recencyBucketCount(100)).toBe(8);
    expect(recencyBucketCount(1)).toBe(1);
  });
});

describe("history examples (the two tasks)", () => {
  it("next items: the history is a prefix, the targets the next five events after the cut", () => {
    const rng = createSeededRandom(1);
    for (let i = 0; i < 200; i++) {
      const length = 2 + (i % 30);
      const { history, targets } = sampleHistoryExample(length, { ...TASKS, taskMix: 1 }, rng);
      const cut = history.length;
      expect(cut).toBeGreaterThanOrEqual(1);
      expect(history).toEqual(Array.from({ length: cut }, (_, k) => k));
      expect(targets).toEqual(Array.from({ length: Math.min(5, length - cut) }, (_, k) => cut + k));
    }
  });

  it("random drop: history and targets partition the events, both non-empty, about 20–50 % dropped", () => {
    const rng = createSeededRandom(2);
    let dropped = 0;
    let total = 0;
    const shares: number[] = [];
    for (let i = 0; i < 400; i++) {
      const length = 2 + (i % 60);
      const { history, targets } = sampleHistoryExample(length, { ...TASKS, taskMix: 0 }, rng);
      expect(history.length).toBeGreaterThan(0);
      expect(targets.length).toBeGreaterThan(0);
      expect([...history, ...targets].sort((a, b) => a - b)).toEqual(Array.from({ length }, (_, k) => k));
      expect(history).toEqual([...history].sort((a, b) => a - b));
      dropped += targets.length;
      total += length;
      if (length >= 50) shares.push(targets.length / length);
    }
    // Drop rates uniform on [0.2, 0.5]: 35 % on average; long histories stay near their draw's range.
    expect(dropped / total).toBeGreaterThan(0.3);
    expect(dropped / total).toBeLessThan(0.4);
    expect(Math.min(...shares)).toBeGreaterThan(0.08);
    expect(Math.max(...shares)).toBeLessThan(0.65);
  });

  it("mixes the tasks per row in the given share", () => {
    const rng = createSeededRandom(3);
    let next = 0;
    for (let i = 0; i < 2000; i++) {
      const { history, targets } = sampleHistoryExample(40, TASKS, rng);
      // A next-items example is a contiguous prefix followed by contiguous targets; random drop almost never is.
      if (history.length + targets.length <= 40 && targets[0] === history.length && history.at(-1) === history.length - 1 && targets.length <= 5) next++;
    }
    expect(next / 2000).toBeGreaterThan(0.45);
    expect(next / 2000).toBeLessThan(0.55);
  });

  it("refuses a history too short to hold an example", () => {
    expect(() => sampleHistoryExample(1, TASKS, createSeededRandom(1))).toThrow(/at least 2 events/);
  });
});

describe("history batches (history dropout)", () => {
  it("fill recent items with the kept history, left-padded, and count each target once", async () => {
    const { task } = await tinyTrainedModel({ epochs: 1 }, { architecture: "history" });
    const data = task.training;
    const sequences = data.sequences!;
    const L = task.spec.sequenceLength;
    const rows = Int32Array.from({ length: 40 }, (_, i) => i).filter((u) => sequences.offsets[u + 1]! - sequences.offsets[u]! >= 2);
    const batch = assembleHistoryBatch(data, sequences, rows, L, { ...TASKS, taskMix: 0 }, createSeededRandom(5));
    const catalogue = data.items.count;
    let someShorter = false;
    rows.forEach((u, b) => {
      const own = sequences.items.subarray(sequences.offsets[u]!, sequences.offsets[u + 1]!);
      const slots = Array.from(batch.users.recentItems.subarray(b * L, (b + 1) * L));
      const kept = slots.filter((v) => v !== 0);
      // Padding only on the left; every kept item and every target is one of the user's own items.
      expect(slots.slice(L - kept.length).every((v) => v !== 0)).toBe(true);
      const targets = batch.targets.subarray(b * catalogue, (b + 1) * catalogue);
      const targetCount = targets.reduce((a, v) => a + v, 0);
      expect(targetCount).toBeGreaterThan(0);
      for (const k of kept) expect(own).toContain(k);
      targets.forEach((count, row) => {
        if (count > 0) expect(own).toContain(row + 2);
      });
      // Dropped events are gone from the history: kept + targets never exceed the user's events.
      expect(Math.min(L, own.length - targetCount)).toBeGreaterThanOrEqual(kept.length);
      if (kept.length < Math.min(L, own.length)) someShorter = true;
    });
    expect(someShorter).toBe(true);
    // The user's own features besides the history are carried over unchanged.
    expect(Array.from(batch.users.device)).toEqual(Array.from(rows, (u) => data.train.users.device[u]!));
  });
});

describe("full softmax loss", () => {
  it("has the exact gradient (softmax·rowsum(T) − T) / ΣT, matching finite differences in float64", () => {
    const logits = [
      [0.3, -1.2, 2.0, 0.1],
      [1.5, 0.2, -0.4, -2.2],
    ];
    const targets = [
      [0, 1, 2, 0],
      [1, 0, 0, 0],
    ];
    const loss64 = (z: number[][]): number => {
      let sum = 0;
      let count = 0;
      z.forEach((row, b) => {
        const max = Math.max(...row);
        const logSum = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
        row.forEach((v, j) => {
          sum -= targets[b]![j]! * (v - logSum);
          count += targets[b]![j]!;
        });
      });
      return sum / count;
    };
    const t = tf.tensor2d(targets);
    const value = fullSoftmaxLoss(tf.tensor2d(logits), t).dataSync()[0]!;
    expect(value).toBeCloseTo(loss64(logits), 5);
    const grad = tf.grad((z: tf.Tensor) => fullSoftmaxLoss(z as tf.Tensor2D, t))(tf.tensor2d(logits)).arraySync() as number[][];
    const h = 1e-6;
    logits.forEach((row, b) => {
      row.forEach((_, j) => {
        const plus = logits.map((r) => [...r]);
        const minus = logits.map((r) => [...r]);
        plus[b]![j]! += h;
        minus[b]![j]! -= h;
        const numeric = (loss64(plus) - loss64(minus)) / (2 * h);
        expect(grad[b]![j]!).toBeCloseTo(numeric, 5);
        // The closed form.
        const e = row.map((v) => Math.exp(v));
        const softmax = e[j]! / e.reduce((a, v) => a + v, 0);
        const rowSum = targets[b]!.reduce((a, v) => a + v, 0);
        expect(grad[b]![j]!).toBeCloseTo((softmax * rowSum - targets[b]![j]!) / 4, 5);
      });
    });
  });
});

describe("AdamW", () => {
  it("shrinks weights by lr·decay outside the gradient (decoupled), unlike coupled L2", () => {
    const variable = tf.variable(tf.tensor1d([2, -4]), true, "adamw-test");
    const zero = { w: tf.tensor1d([0, 0]) };
    new AdamOptimizer({ weightDecay: 0.5, decoupled: true }).apply({ w: variable }, zero, 0.1);
    expect(Array.from(variable.dataSync())).toEqual([2 * 0.95, -4 * 0.95].map(Math.fround));
    const coupled = tf.variable(tf.tensor1d([2, -4]), true, "adam-l2-test");
    new AdamOptimizer({ weightDecay: 0.5 }).apply({ w: coupled }, zero, 0.1);
    // Coupled: the decay is a gradient, which Adam normalises to a step of lr whatever its size.
    expect(coupled.dataSync()[0]).toBeCloseTo(1.9, 5);
    expect(coupled.dataSync()[1]).toBeCloseTo(-3.9, 5);
    tf.dispose([variable, coupled, zero.w]);
  });
});

describe("training the history model", () => {
  it("lowers the validation loss and keeps the best epoch", async () => {
    const { result } = await tinyTrainedModel({ epochs: 6, patience: 10, learningRate: 0.01, batchSize: 32, selectOn: "loss" }, { architecture: "history" });
    try {
      const losses = result.epochs.map((e) => e.validationLoss);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(Math.min(...losses)).toBeLessThan(losses[0]!);
      expect(result.epochs[result.bestEpoch - 1]!.validationLoss).toBe(Math.min(...losses));
    } finally {
      result.model.dispose();
    }
  });
});
