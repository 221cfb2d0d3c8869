import { OnnxGraphBuilder } from "../export/onnx-graph-builder.js";
import { MASK_NEGATIVE, parameterShapes, type TextTransformerConfig, type TextTransformerWeights } from "./text-transformer-model.js";

/** Input and output names of the Hugging Face sequence-classification ONNX layout. */
export const HF_INPUT_IDS = "input_ids";
export const HF_ATTENTION_MASK = "attention_mask";
export const HF_LOGITS = "logits";
export const HF_TOKEN_TYPE_IDS = "token_type_ids";

/**
 * The text transformer as an ONNX graph in the Hugging Face sequence-classification layout: int64
 * `input_ids` and `attention_mask` [batch, sequence] → float `logits` [batch, numLabels]. It computes exactly
 * what TextTransformerModel.logits computes without dropout (LayerNormalization with the same epsilon, the
 * same -1e9 key mask, masked-mean pooling as a batched MatMul).
 */
export function buildOnnxTextClassifier(
  config: TextTransformerConfig,
  weights: TextTransformerWeights,
  metadata: Record<string, string> = {},
  options: { tokenTypeIds?: boolean } = {},
): Uint8Array {
  const shapes = parameterShapes(config);
  const g = new OnnxGraphBuilder("text_classifier");
  const w = (name: string): string => {
    const value = weights[name];
    if (!value) throw new Error(`buildOnnxTextClassifier: weights are missing "${name}"`);
    if (value.shape.join("x") !== shapes[name]!.join("x")) throw new Error(`buildOnnxTextClassifier: "${name}" has shape [${value.shape}], expected [${shapes[name]}]`);
    return g.initializer(name, value.values, value.shape);
  };
  const { dim, heads } = config;
  const dk = dim / heads;
  const ids = g.input(HF_INPUT_IDS, "int64", [-1, -1], ["batch", "sequence"]);
  const mask = g.input(HF_ATTENTION_MASK, "int64", [-1, -1], ["batch", "sequence"]);

  const length = g.node("Gather", [g.node("Shape", [ids]), g.constant([1], "int64", [])], { axis: 0 });
  const positions = g.node("Range", [g.constant([0], "int64", []), length, g.constant([1], "int64", [])]);
  let x = g.node("Add", [g.node("Gather", [w("embeddings.token"), ids], { axis: 0 }), g.node("Gather", [w("embeddings.position"), positions], { axis: 0 })]);
  if (options.tokenTypeIds) {
    // BERT-style layout (a third input, segment embeddings added to the tokens). The model has one segment,
    // so the table is zeros and the logits are the same: this is for testing importers and serving on that layout.
    const types = g.input(HF_TOKEN_TYPE_IDS, "int64", [-1, -1], ["batch", "sequence"]);
    const table = g.initializer("embeddings.token_type", new Float32Array(2 * config.dim), [2, config.dim]);
    x = g.node("Add", [x, g.node("Gather", [table, types], { axis: 0 })]);
  }
  const maskF = g.node("Cast", [mask], { to: 1 });
  const maskBias = g.node("Unsqueeze", [g.node("Mul", [g.node("Sub", [g.constant([1], "float32", []), maskF]), g.constant([MASK_NEGATIVE], "float32", [])]), g.constant([1, 2], "int64")]);

  const linear = (input: string, prefix: string): string => g.node("Add", [g.node("MatMul", [input, w(`${prefix}.kernel`)]), w(`${prefix}.bias`)]);
  const layerNorm = (input: string, prefix: string): string => g.node("LayerNormalization", [input, w(`${prefix}.gamma`), w(`${prefix}.beta`)], { axis: -1 });
  // [B, L, dim] → [B, L, heads, dk] (Reshape's 0 keeps the dynamic batch and sequence sizes).
  const split = (input: string): string => g.node("Reshape", [input, g.constant([0, 0, heads, dk], "int64")]);

  for (let l = 0; l < config.layers; l++) {
    const p = `layer${l}`;
    const h = layerNorm(x, `${p}.ln1`);
    const q = g.node("Mul", [g.node("Transpose", [split(linear(h, `${p}.attention.query`))], { perm: [0, 2, 1, 3] }), g.constant([1 / Math.sqrt(dk)], "float32", [])]);
    const kT = g.node("Transpose", [split(linear(h, `${p}.attention.key`))], { perm: [0, 2, 3, 1] });
    const v = g.node("Transpose", [split(linear(h, `${p}.attention.value`))], { perm: [0, 2, 1, 3] });
    const probs = g.node("Softmax", [g.node("Add", [g.node("MatMul", [q, kT]), maskBias])], { axis: -1 });
    const context = g.node("Transpose", [g.node("MatMul", [probs, v])], { perm: [0, 2, 1, 3] });
    const merged = g.node("Reshape", [context, g.constant([0, 0, dim], "int64")]);
    x = g.node("Add", [x, linear(merged, `${p}.attention.out`)]);
    const inner = g.node("Relu", [linear(layerNorm(x, `${p}.ln2`), `${p}.ffn.in`)]);
    x = g.node("Add", [x, linear(inner, `${p}.ffn.out`)]);
  }
  const final = layerNorm(x, "final.ln");
  const count = g.node("ReduceSum", [maskF, g.constant([1], "int64")], { keepdims: 1 });
  const poolWeights = g.node("Unsqueeze", [g.node("Div", [maskF, g.node("Max", [count, g.constant([1], "float32", [])])]), g.constant([1], "int64")]);
  const pooled = g.node("Flatten", [g.node("MatMul", [poolWeights, final])], { axis: 1 });
  g.output(linear(pooled, "classifier"), HF_LOGITS, "float32", [-1, config.numLabels]);
  return g.toBytes(metadata);
}
