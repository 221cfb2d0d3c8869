import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../model/init-backend.js";
import { buildOnnxTextClassifier, HF_ATTENTION_MASK, HF_INPUT_IDS, HF_LOGITS, HF_TOKEN_TYPE_IDS } from "./build-onnx-text-classifier.js";
import { type TextTransformerModel, initialWeights, padBatch, type TextTransformerConfig } from "./text-transformer-model.js";
import { trainTextClassifier } from "./train-text-classifier.js";

const config: TextTransformerConfig = { vocabSize: 40, maxLength: 12, dim: 16, heads: 2, layers: 2, ffnDim: 24, numLabels: 3 };

describe("ONNX text classifier", () => {
  let model: TextTransformerModel;
  beforeAll(async () => {
    await initBackend();
    // A few training steps move every weight off its initial value (LayerNorm gains, biases), so the parity
    // check covers them all rather than ones and zeros.
    const rows = Array.from({ length: 48 }, (_, i) => Array.from({ length: 2 + (i % 9) }, (_, j) => (j === 0 ? 2 : 5 + ((i * 7 + j * 3) % 35))));
    const set = { ids: rows, labels: rows.map((_, i) => i % 3) };
    const result = await trainTextClassifier(config, initialWeights(config, 3), set, set, {
      epochs: 2,
      batchSize: 8,
      learningRate: 1e-2,
      warmupSteps: 0,
      weightDecay: 0,
      dropout: 0.1,
      patience: 5,
      clipNorm: 1,
      seed: 1,
    });
    model = result.model;
  });
  afterAll(() => model?.dispose());

  it("gives the tfjs logits within 1e-4 on padded batches, in the Hugging Face input/output layout", async () => {
    const rows = [[2, 7, 9, 3], [2, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 3], [2, 3], [2, 30, 31, 39, 3]];
    const batch = padBatch(rows);
    const expected = model.logits(batch).dataSync() as Float32Array;
    const session = await ort.InferenceSession.create(buildOnnxTextClassifier(config, model.weights()));
    try {
      expect(session.inputNames).toEqual([HF_INPUT_IDS, HF_ATTENTION_MASK]);
      expect(session.outputNames).toEqual([HF_LOGITS]);
      const shape = [batch.batch, batch.length];
      const out = await session.run({
        [HF_INPUT_IDS]: new ort.Tensor("int64", BigInt64Array.from(batch.ids, BigInt), shape),
        [HF_ATTENTION_MASK]: new ort.Tensor("int64", BigInt64Array.from(batch.mask, (m) => BigInt(m)), shape),
      });
      const logits = out[HF_LOGITS]!;
      expect(logits.dims).toEqual([rows.length, config.numLabels]);
      const actual = logits.data as Float32Array;
      let maxDiff = 0;
      for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
      expect(maxDiff).toBeLessThan(1e-4);
      // Padding must not change a row's logits: the short row alone gives the same answer as in the batch.
      const alone = await session.run({
        [HF_INPUT_IDS]: new ort.Tensor("int64", BigInt64Array.from(rows[2]!, BigInt), [1, 2]),
        [HF_ATTENTION_MASK]: new ort.Tensor("int64", BigInt64Array.from([1n, 1n]), [1, 2]),
      });
      const single = alone[HF_LOGITS]!.data as Float32Array;
      for (let c = 0; c < config.numLabels; c++) expect(single[c]).toBeCloseTo(actual[2 * config.numLabels + c]!, 4);
    } finally {
      await session.release();
    }
  });

  it("adds a token_type_ids input in the BERT-style layout without changing the logits", async () => {
    const rows = [[2, 7, 9, 3], [2, 11, 3]];
    const batch = padBatch(rows);
    const expected = model.logits(batch).dataSync() as Float32Array;
    const session = await ort.InferenceSession.create(buildOnnxTextClassifier(config, model.weights(), {}, { tokenTypeIds: true }));
    try {
      expect(session.inputNames).toEqual([HF_INPUT_IDS, HF_ATTENTION_MASK, HF_TOKEN_TYPE_IDS]);
      const shape = [batch.batch, batch.length];
      const out = await session.run({
        [HF_INPUT_IDS]: new ort.Tensor("int64", BigInt64Array.from(batch.ids, BigInt), shape),
        [HF_ATTENTION_MASK]: new ort.Tensor("int64", BigInt64Array.from(batch.mask, (m) => BigInt(m)), shape),
        [HF_TOKEN_TYPE_IDS]: new ort.Tensor("int64", new BigInt64Array(batch.batch * batch.length), shape),
      });
      const actual = out[HF_LOGITS]!.data as Float32Array;
      for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(1e-4);
    } finally {
      await session.release();
    }
  });

  it("refuses weights of the wrong shape", () => {
    const weights = model.weights();
    weights["classifier.bias"] = { shape: [2], values: new Float32Array(2) };
    expect(() => buildOnnxTextClassifier(config, weights)).toThrow(/classifier\.bias.*expected \[3\]/);
  });
});
