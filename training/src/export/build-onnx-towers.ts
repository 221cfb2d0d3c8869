import { type FeatureSpec, ONNX_OUTPUT_NAME } from "@funnel/two-tower";
import { HISTORY_EPSILON, historyWidth } from "../model/history-towers.js";
import { slotWeights } from "../model/recency-buckets.js";
import { architectureOf, HISTORY_ITEM_TABLE, hasUserIdEmbedding, L2_EPSILON_SQUARED, type TwoTowerConfig, type TwoTowerWeights } from "../model/two-tower-model.js";
import { OnnxGraphBuilder } from "./onnx-graph-builder.js";

/**
 * Writes both towers as ONNX graphs that compute exactly what TwoTowerModel computes at inference: Gather for
 * embeddings, a padding mask and ReduceSum / count for the masked mean, MatMul/Add/Relu for the MLP and an
 * L2 normalisation. Input names and order are the feature spec's `inputs`, i.e. the UserTensors / ItemTensors
 * field names, so serving can feed encodeUsers/encodeItems output straight in.
 */
export function buildOnnxTowers(
  spec: FeatureSpec,
  config: TwoTowerConfig,
  weights: TwoTowerWeights,
  metadata: Record<string, string> = {},
): { user: Uint8Array; item: Uint8Array } {
  checkSpecMatchesConfig(spec, config);
  const w = (name: string): { shape: number[]; values: Float32Array } => {
    const value = weights[name];
    if (!value) throw new Error(`buildOnnxTowers: weights are missing "${name}"`);
    return value;
  };
  const meta = { ...metadata, dim: String(config.dim), featureSpecVersion: spec.version };
  if (architectureOf(config) === "history") return buildHistoryTowers(spec, config, w, { ...meta, architecture: "history" });

  const user = new OnnxGraphBuilder("user_tower");
  const userInputs = Object.fromEntries(spec.inputs.user.map((i) => [i.name, user.input(i.name, i.dtype, i.shape)]));
  const userParts = [
    userInputs.numeric!,
    lookup(user, "emb.device", w("emb.device"), userInputs.device!),
    maskedMean(user, "emb.item", w("emb.item"), userInputs.recentItems!),
    maskedMean(user, "emb.page", w("emb.page"), userInputs.recentPages!),
    maskedMean(user, "emb.userAttribute", w("emb.userAttribute"), userInputs.attributes!),
    // A masked mean over one slot: index 0 (no id) gives zeros, as in the tfjs tower.
    ...(hasUserIdEmbedding(config) ? [maskedMean(user, "emb.userId", w("emb.userId"), userInputs.userId!)] : []),
  ];
  user.output(mlp(user, "user", w, user.node("Concat", userParts, { axis: 1 })), ONNX_OUTPUT_NAME, "float32", [-1, config.dim]);

  const item = new OnnxGraphBuilder("item_tower");
  const itemInputs = Object.fromEntries(spec.inputs.item.map((i) => [i.name, item.input(i.name, i.dtype, i.shape)]));
  const itemParts = [
    itemInputs.numeric!,
    lookup(item, "emb.item", w("emb.item"), itemInputs.itemIndex!),
    lookup(item, "emb.page", w("emb.page"), itemInputs.page!),
    lookup(item, "emb.interaction", w("emb.interaction"), itemInputs.interaction!),
    maskedMean(item, "emb.category", w("emb.category"), itemInputs.category!),
  ];
  item.output(mlp(item, "item", w, item.node("Concat", itemParts, { axis: 1 })), ONNX_OUTPUT_NAME, "float32", [-1, config.dim]);

  return { user: user.toBytes({ ...meta, tower: "user" }), item: item.toBytes({ ...meta, tower: "item" }) };
}

/** [batch, 1] indices → [batch, width]. */
function lookup(g: OnnxGraphBuilder, name: string, table: { shape: number[]; values: Float32Array }, indices: string): string {
  const t = g.initializer(name, table.values, table.shape);
  return g.node("Flatten", [g.node("Gather", [t, indices], { axis: 0 })], { axis: 1 });
}

/**
 * [batch, L] indices → mean of the non-padding (index ≠ 0) embeddings; all-padding rows give zeros. A plain
 * ReduceMean would average the padding slots in too, so it is a masked ReduceSum divided by max(count, 1).
 */
function maskedMean(g: OnnxGraphBuilder, name: string, table: { shape: number[]; values: Float32Array }, indices: string): string {
  const t = g.initializer(name, table.values, table.shape);
  const gathered = g.node("Gather", [t, indices], { axis: 0 }); // [batch, L, width]
  const mask = g.node("Cast", [g.node("Greater", [indices, g.constant([0], "int32", [])])], { to: 1 }); // [batch, L] float
  const masked = g.node("Mul", [gathered, g.node("Unsqueeze", [mask, g.constant([2], "int64")])]);
  const sum = g.node("ReduceSum", [masked, g.constant([1], "int64")], { keepdims: 0 });
  const count = g.node("ReduceSum", [mask, g.constant([1], "int64")], { keepdims: 1 });
  return g.node("Div", [sum, g.node("Max", [count, g.constant([1], "float32", [])])]);
}

function mlp(
  g: OnnxGraphBuilder,
  side: "user" | "item",
  w: (name: string) => { shape: number[]; values: Float32Array },
  x: string,
): string {
  const dense = (layer: string, input: string): string => {
    const kernel = w(`${side}.${layer}.kernel`);
    const bias = w(`${side}.${layer}.bias`);
    const k = g.initializer(`${side}.${layer}.kernel`, kernel.values, kernel.shape);
    const b = g.initializer(`${side}.${layer}.bias`, bias.values, bias.shape);
    return g.node("Add", [g.node("MatMul", [input, k]), b]);
  };
  const out = dense("dense1", g.node("Relu", [dense("dense0", x)]));
  const squared = g.node("ReduceSum", [g.node("Mul", [out, out]), g.constant([1], "int64")], { keepdims: 1 });
  const norm = g.node("Sqrt", [g.node("Max", [squared, g.constant([L2_EPSILON_SQUARED], "float32", [])])]);
  return g.node("Div", [out, norm]);
}

type Weight = (name: string) => { shape: number[]; values: Float32Array };

/**
 * The history model's towers (history-towers.ts): the item vectors of the whole vocabulary and the per-slot
 * recency weights are baked in as constants (both are fixed once training ends), so the user tower is a
 * Gather, a weighted sum over the non-padding slots divided by √Σ weights, the residual MLP and a constant 1.
 */
function buildHistoryTowers(spec: FeatureSpec, config: TwoTowerConfig, w: Weight, meta: Record<string, string>): { user: Uint8Array; item: Uint8Array } {
  const d = historyWidth(config);
  const L = config.sequenceLength;
  const user = new OnnxGraphBuilder("user_tower");
  const u = Object.fromEntries(spec.inputs.user.map((i) => [i.name, user.input(i.name, i.dtype, i.shape)]));
  const table = w(HISTORY_ITEM_TABLE);
  const gathered = user.node("Gather", [user.initializer(HISTORY_ITEM_TABLE, table.values, table.shape), u.recentItems!], { axis: 0 }); // [batch, L, d]
  const mask = user.node("Cast", [user.node("Greater", [u.recentItems!, user.constant([0], "int32", [])])], { to: 1 });
  const weights = user.node("Mul", [mask, user.initializer("user.slotWeights", slotWeights(w("user.recency").values, L), [L])]); // [batch, L]
  const sum = user.node("ReduceSum", [user.node("Mul", [gathered, user.node("Unsqueeze", [weights, user.constant([2], "int64")])]), user.constant([1], "int64")], { keepdims: 0 });
  const norm = user.node("Sqrt", [user.node("Max", [user.node("ReduceSum", [weights, user.constant([1], "int64")], { keepdims: 1 }), user.constant([HISTORY_EPSILON], "float32", [])])]);
  let x = user.node("Div", [sum, norm]);
  if (config.userContext) {
    const parts = [
      lookup(user, "emb.device", w("emb.device"), u.device!),
      maskedMean(user, "emb.userPage", w("emb.userPage"), u.recentPages!),
      maskedMean(user, "emb.userAttribute", w("emb.userAttribute"), u.attributes!),
      ...(hasUserIdEmbedding(config) ? [maskedMean(user, "emb.userId", w("emb.userId"), u.userId!)] : []),
      ...(config.userNumericSize > 0 ? [user.node("MatMul", [u.numeric!, weightOf(user, w, "user.numeric.kernel")])] : []),
    ];
    for (const part of parts) x = user.node("Add", [x, part]);
  }
  const dense = (layer: string, input: string): string =>
    user.node("Add", [user.node("MatMul", [input, weightOf(user, w, `user.${layer}.kernel`)]), weightOf(user, w, `user.${layer}.bias`)]);
  const residual = user.node("Add", [x, dense("dense1", user.node("Relu", [dense("dense0", x)]))]);
  // A [batch, 1] column of ones for the item bias: Expand of a constant to (batch, 1) read off the input's shape.
  const batchShape = user.node("Concat", [user.node("Slice", [user.node("Shape", [u.recentItems!]), user.constant([0], "int64"), user.constant([1], "int64")]), user.constant([1], "int64")], { axis: 0 });
  const ones = user.node("Expand", [user.constant([1], "float32", [1, 1]), batchShape]);
  user.output(user.node("Concat", [residual, ones], { axis: 1 }), ONNX_OUTPUT_NAME, "float32", [-1, config.dim]);

  const item = new OnnxGraphBuilder("item_tower");
  const i = Object.fromEntries(spec.inputs.item.map((input) => [input.name, item.input(input.name, input.dtype, input.shape)]));
  const parts = [
    lookup(item, "emb.item", w("emb.item"), i.itemIndex!),
    maskedMean(item, "emb.category", w("emb.category"), i.category!),
    lookup(item, "emb.page", w("emb.page"), i.page!),
    lookup(item, "emb.interaction", w("emb.interaction"), i.interaction!),
    ...(config.itemNumericSize > 0 ? [item.node("MatMul", [i.numeric!, weightOf(item, w, "item.numeric.kernel")])] : []),
  ];
  let vector = parts[0]!;
  for (const part of parts.slice(1)) vector = item.node("Add", [vector, part]);
  const bias = lookup(item, "item.bias", w("item.bias"), i.itemIndex!);
  item.output(item.node("Concat", [vector, bias], { axis: 1 }), ONNX_OUTPUT_NAME, "float32", [-1, config.dim]);
  if (table.shape[1] !== d) throw new Error(`buildOnnxTowers: ${HISTORY_ITEM_TABLE} is ${table.shape[1]} wide, the model ${d}`);
  return { user: user.toBytes({ ...meta, tower: "user" }), item: item.toBytes({ ...meta, tower: "item" }) };
}

function weightOf(g: OnnxGraphBuilder, w: Weight, name: string): string {
  const value = w(name);
  return g.initializer(name, value.values, value.shape);
}

function checkSpecMatchesConfig(spec: FeatureSpec, c: TwoTowerConfig): void {
  const mismatches: string[] = [];
  if (spec.user.numericSize !== c.userNumericSize) mismatches.push(`user numeric ${spec.user.numericSize} vs ${c.userNumericSize}`);
  if (spec.item.numericSize !== c.itemNumericSize) mismatches.push(`item numeric ${spec.item.numericSize} vs ${c.itemNumericSize}`);
  if (spec.sequenceLength !== c.sequenceLength) mismatches.push(`sequenceLength ${spec.sequenceLength} vs ${c.sequenceLength}`);
  if (spec.user.attributeSlots !== c.attributeSlots) mismatches.push(`user.attributeSlots ${spec.user.attributeSlots} vs ${c.attributeSlots}`);
  if (spec.user.idBuckets !== (c.userIdBuckets ?? 0)) mismatches.push(`user.idBuckets ${spec.user.idBuckets} vs ${c.userIdBuckets ?? 0}`);
  if (spec.item.categorySlots !== c.categorySlots) mismatches.push(`item.categorySlots ${spec.item.categorySlots} vs ${c.categorySlots}`);
  for (const k of ["device", "page", "interaction", "item", "category", "userAttribute"] as const) {
    if (spec.vocab[k].size !== c.vocab[k]) mismatches.push(`vocab.${k} ${spec.vocab[k].size} vs ${c.vocab[k]}`);
  }
  if (mismatches.length > 0) throw new Error(`buildOnnxTowers: feature spec and model config disagree: ${mismatches.join(", ")}`);
}
