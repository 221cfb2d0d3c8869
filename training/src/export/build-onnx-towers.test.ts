import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FeatureSpec, ItemTensors, UserTensors } from "@funnel/two-tower";
import { tinyTrainedModel } from "../model/testing/tiny-trained-model.js";
import type { TwoTowerModel } from "../model/two-tower-model.js";
import { ONNX_OUTPUT_NAME } from "@funnel/two-tower";
import { buildOnnxTowers } from "./build-onnx-towers.js";

describe("ONNX towers", () => {
  let fixture: Awaited<ReturnType<typeof tinyTrainedModel>>;
  let model: TwoTowerModel;
  beforeAll(async () => {
    fixture = await tinyTrainedModel();
    model = fixture.result.model;
  });
  afterAll(() => model?.dispose());

  async function runOnnx(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
    const session = await ort.InferenceSession.create(bytes);
    try {
      const out = await session.run(feeds);
      return out[ONNX_OUTPUT_NAME]!.data as Float32Array;
    } finally {
      await session.release();
    }
  }

  it("agree with the tfjs towers within 1e-5 on the same inputs", async () => {
    const { task, config } = fixture;
    const { user, item } = buildOnnxTowers(task.spec, config, model.getWeights());
    const users: UserTensors = task.test.users;
    const items: ItemTensors = task.items;
    // Some users must have padded history slots and some items several categories (and padded category slots),
    // or the mask paths are not exercised.
    expect(users.recentItems.some((v) => v === 0)).toBe(true);
    expect(task.spec.item.categorySlots).toBeGreaterThan(1);
    expect(items.category.some((v) => v === 0)).toBe(true);
    expect(task.spec.user.attributeSlots).toBe(2);
    expect(users.attributes.some((v) => v === 0)).toBe(true);
    const userOnnx = await runOnnx(user, userFeeds(task.spec, users));
    const itemOnnx = await runOnnx(item, {
      numeric: new ort.Tensor("float32", items.numeric, [items.count, task.spec.item.numericSize]),
      itemIndex: new ort.Tensor("int32", items.itemIndex, [items.count, 1]),
      page: new ort.Tensor("int32", items.page, [items.count, 1]),
      interaction: new ort.Tensor("int32", items.interaction, [items.count, 1]),
      category: new ort.Tensor("int32", items.category, [items.count, task.spec.item.categorySlots]),
    });
    const userTfjs = model.embedUsers(users);
    const itemTfjs = model.embedItems(items);
    expect(userOnnx.length).toBe(users.count * config.dim);
    expect(itemOnnx.length).toBe(items.count * config.dim);
    expect(maxAbsDiff(userOnnx, userTfjs)).toBeLessThan(1e-5);
    expect(maxAbsDiff(itemOnnx, itemTfjs)).toBeLessThan(1e-5);
    // Outputs are unit vectors, so the comparison is not trivially between zeros.
    const norm = Math.hypot(...userOnnx.subarray(0, config.dim));
    expect(norm).toBeCloseTo(1, 5);
  });

  it("declares the feature spec's input names and a dynamic batch dimension", async () => {
    const { task, config } = fixture;
    const { user, item } = buildOnnxTowers(task.spec, config, model.getWeights());
    const userSession = await ort.InferenceSession.create(user);
    const itemSession = await ort.InferenceSession.create(item);
    expect(userSession.inputNames).toEqual(task.spec.inputs.user.map((i) => i.name));
    expect(itemSession.inputNames).toEqual(task.spec.inputs.item.map((i) => i.name));
    expect(userSession.outputNames).toEqual([ONNX_OUTPUT_NAME]);
    await userSession.release();
    await itemSession.release();
  });

  it("with user-id buckets: agree with tfjs (ids present and absent), take the userId input, and leave unused buckets zero", async () => {
    const withIds = await tinyTrainedModel({ userIdDropout: 0.3 }, { userIdBuckets: 512 });
    const idModel = withIds.result.model;
    try {
      const { task, config } = withIds;
      expect(task.spec.inputs.user.map((i) => i.name).at(-1)).toBe("userId");
      const { user } = buildOnnxTowers(task.spec, config, idModel.getWeights());
      // Half the test users without an id (the "no id" row), the rest with theirs.
      const users: UserTensors = { ...task.test.users, userId: task.test.users.userId.map((id, row) => (row % 2 === 0 ? 0 : id)) };
      expect(users.userId.some((id) => id === 0)).toBe(true);
      expect(users.userId.some((id) => id > 0)).toBe(true);
      const feeds = userFeeds(task.spec, users);
      expect(Object.keys(feeds)).toContain("userId");
      const userOnnx = await runOnnx(user, feeds);
      expect(maxAbsDiff(userOnnx, idModel.embedUsers(users))).toBeLessThan(1e-5);
      // The id changes the embedding: the same row with and without its id differ.
      const row = 1;
      const without = idModel.embedUsers({ ...sliceOne(users, row), userId: new Int32Array([0]) });
      expect(maxAbsDiff(idModel.embedUsers(sliceOne(users, row)), without)).toBeGreaterThan(1e-4);
      // Buckets no training user hashed to got no gradient: still the zero vector an unseen id then embeds with.
      const table = idModel.getWeights()["emb.userId"]!;
      const width = table.shape[1]!;
      const used = new Set(task.training.train.users.userId);
      const rowNorm = (r: number) => Math.hypot(...table.values.subarray(r * width, (r + 1) * width));
      const unused = Array.from({ length: table.shape[0]! }, (_, r) => r).filter((r) => !used.has(r));
      expect(unused.length).toBeGreaterThan(0);
      expect(Math.max(...unused.map(rowNorm))).toBe(0);
      expect(Math.max(...[...used].filter((r) => r > 0).map(rowNorm))).toBeGreaterThan(0);
    } finally {
      idModel.dispose();
    }
  });

  it("refuses a feature spec that does not match the model", () => {
    const { task, config } = fixture;
    const other = { ...task.spec, sequenceLength: task.spec.sequenceLength + 1 };
    expect(() => buildOnnxTowers(other, config, model.getWeights())).toThrow(/sequenceLength/);
  });
});

/** A feed for every user input the spec declares, shaped as the spec says (-1 = the batch). */
function userFeeds(spec: FeatureSpec, users: UserTensors): Record<string, ort.Tensor> {
  return Object.fromEntries(
    spec.inputs.user.map((input) => {
      const data = users[input.name as Exclude<keyof UserTensors, "count">];
      return [input.name, new ort.Tensor(input.dtype, data, [users.count, input.shape[1]])];
    }),
  );
}

function sliceOne(users: UserTensors, row: number): UserTensors {
  const per = (a: Int32Array | Float32Array) => a.length / users.count;
  return {
    count: 1,
    numeric: users.numeric.slice(row * per(users.numeric), (row + 1) * per(users.numeric)),
    device: users.device.slice(row, row + 1),
    recentItems: users.recentItems.slice(row * per(users.recentItems), (row + 1) * per(users.recentItems)),
    recentPages: users.recentPages.slice(row * per(users.recentPages), (row + 1) * per(users.recentPages)),
    attributes: users.attributes.slice(row * per(users.attributes), (row + 1) * per(users.attributes)),
    userId: users.userId.slice(row, row + 1),
  };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
