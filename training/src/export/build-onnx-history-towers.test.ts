import { type FeatureSpec, type ItemTensors, ONNX_OUTPUT_NAME, type UserTensors } from "@funnel/two-tower";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { tinyTrainedModel } from "../model/testing/tiny-trained-model.js";
import { buildOnnxTowers } from "./build-onnx-towers.js";

/** Parity of the history model's ONNX towers with tfjs on every input they read, within 1e-4. */
describe("ONNX towers of the history model", () => {
  async function runOnnx(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
    const session = await ort.InferenceSession.create(bytes);
    try {
      return (await session.run(feeds))[ONNX_OUTPUT_NAME]!.data as Float32Array;
    } finally {
      await session.release();
    }
  }

  for (const variant of [
    { name: "history only", userContext: false, userIdBuckets: undefined },
    { name: "history with the funnel context (device, pages, attributes, id, numbers)", userContext: true, userIdBuckets: 64 },
  ]) {
    it(`agree with tfjs: ${variant.name}`, async () => {
      // A high learning rate for a few epochs, so the recency weights and biases have moved away from their start.
      const { task, config, result } = await tinyTrainedModel(
        { epochs: 3, learningRate: 0.02, batchSize: 32, userIdDropout: 0.3 },
        { architecture: "history", userContext: variant.userContext, ...(variant.userIdBuckets ? { userIdBuckets: variant.userIdBuckets } : {}) },
      );
      const model = result.model;
      try {
        const weights = model.getWeights();
        const recency = weights["user.recency"]!.values;
        expect(new Set(Array.from(recency, (v) => v.toFixed(6))).size).toBeGreaterThan(1);
        expect(Math.max(...Array.from(weights["item.bias"]!.values, Math.abs))).toBeGreaterThan(0);
        const { user, item } = buildOnnxTowers(task.spec, config, weights);
        // Every history shape: the test users (full and padded histories), one with an unknown item (OOV) in it,
        // and one with no history at all (all padding: embeds as zeros before the MLP, no NaN).
        const base = task.test.users;
        const L = task.spec.sequenceLength;
        const users = appendRows(base, [
          { ...rowOf(base, 0), recentItems: Int32Array.from({ length: L }, (_, l) => (l === L - 1 ? 1 : l >= L - 3 ? 2 + l : 0)) },
          { ...rowOf(base, 1), recentItems: new Int32Array(L), recentPages: new Int32Array(L) },
        ]);
        expect(users.recentItems.some((v) => v === 0)).toBe(true);
        const userOnnx = await runOnnx(user, userFeeds(task.spec, users));
        const userTfjs = model.embedUsers(users);
        expect(userOnnx.length).toBe(users.count * config.dim);
        expect(maxAbsDiff(userOnnx, userTfjs)).toBeLessThan(1e-4);
        expect(userOnnx.every(Number.isFinite)).toBe(true);
        // The last coordinate carries the item bias: 1 for every user.
        for (let r = 0; r < users.count; r++) expect(userOnnx[r * config.dim + config.dim - 1]).toBe(1);
        const items: ItemTensors = task.items;
        const itemOnnx = await runOnnx(item, {
          numeric: new ort.Tensor("float32", items.numeric, [items.count, task.spec.item.numericSize]),
          itemIndex: new ort.Tensor("int32", items.itemIndex, [items.count, 1]),
          page: new ort.Tensor("int32", items.page, [items.count, 1]),
          interaction: new ort.Tensor("int32", items.interaction, [items.count, 1]),
          category: new ort.Tensor("int32", items.category, [items.count, task.spec.item.categorySlots]),
        });
        expect(maxAbsDiff(itemOnnx, model.embedItems(items))).toBeLessThan(1e-4);
        // Not trivially equal: user outputs are not all the same vector.
        expect(maxAbsDiff(userOnnx.subarray(0, config.dim), userOnnx.subarray(config.dim, 2 * config.dim))).toBeGreaterThan(1e-3);
        if (variant.userContext) {
          // The context inputs reach the output: another device changes the embedding.
          const one = rowOf(base, 2);
          const other = { ...one, device: new Int32Array([one.device[0] === 2 ? 3 : 2]) };
          expect(maxAbsDiff(model.embedUsers(one), model.embedUsers(other))).toBeGreaterThan(1e-5);
        }
      } finally {
        model.dispose();
      }
    });
  }
});

function userFeeds(spec: FeatureSpec, users: UserTensors): Record<string, ort.Tensor> {
  return Object.fromEntries(
    spec.inputs.user.map((input) => {
      const data = users[input.name as Exclude<keyof UserTensors, "count">];
      return [input.name, new ort.Tensor(input.dtype, data, [users.count, input.shape[1]])];
    }),
  );
}

function rowOf(users: UserTensors, row: number): UserTensors {
  const per = (a: Int32Array | Float32Array) => a.length / users.count;
  const cut = <T extends Int32Array | Float32Array>(a: T): T => a.slice(row * per(a), (row + 1) * per(a)) as T;
  return {
    count: 1,
    numeric: cut(users.numeric),
    device: cut(users.device),
    recentItems: cut(users.recentItems),
    recentPages: cut(users.recentPages),
    attributes: cut(users.attributes),
    userId: cut(users.userId),
  };
}

function appendRows(users: UserTensors, rows: UserTensors[]): UserTensors {
  const all = [users, ...rows];
  const join = <T extends Int32Array | Float32Array>(pick: (u: UserTensors) => T, make: (n: number) => T): T => {
    const out = make(all.reduce((n, u) => n + pick(u).length, 0));
    let offset = 0;
    for (const u of all) {
      out.set(pick(u), offset);
      offset += pick(u).length;
    }
    return out;
  };
  return {
    count: all.reduce((n, u) => n + u.count, 0),
    numeric: join((u) => u.numeric, (n) => new Float32Array(n)),
    device: join((u) => u.device, (n) => new Int32Array(n)),
    recentItems: join((u) => u.recentItems, (n) => new Int32Array(n)),
    recentPages: join((u) => u.recentPages, (n) => new Int32Array(n)),
    attributes: join((u) => u.attributes, (n) => new Int32Array(n)),
    userId: join((u) => u.userId, (n) => new Int32Array(n)),
  };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
