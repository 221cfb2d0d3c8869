import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { writeModelDirectoryManifest, type ModelLineage, type ModelManifest } from "@funnel/registry";
import { buildOnnxTextClassifier } from "./build-onnx-text-classifier.js";
import type { TextTransformerConfig, TextTransformerWeights } from "./text-transformer-model.js";
import { PAD_ID, WordPieceTokenizer } from "./wordpiece-tokenizer.js";

/** Manifest kind of any Hugging Face-layout ONNX sequence classifier (this project's or an imported one). */
export const HF_SEQUENCE_CLASSIFICATION_KIND = "hf-sequence-classification";

/** The Hugging Face files, plus this project's run records and the tfjs weights (to re-export or fine-tune). */
export const TEXT_CLASSIFIER_FILES = {
  onnx: "model.onnx",
  config: "config.json",
  tokenizer: "tokenizer.json",
  tokenizerConfig: "tokenizer_config.json",
  specialTokensMap: "special_tokens_map.json",
  weightsIndex: "tfjs-weights.json",
  weights: "tfjs-weights.bin",
  metrics: "metrics.json",
  epochs: "epochs.json",
  params: "params.json",
  split: "split.json",
  report: "report.html",
} as const;

export interface TextClassifierCheckpoint {
  config: TextTransformerConfig;
  weights: TextTransformerWeights;
  vocab: readonly string[];
  labels: readonly string[];
}

export interface TextClassifierDirectoryContents extends TextClassifierCheckpoint {
  name: string;
  metrics: Record<string, unknown>;
  headlineMetrics: Record<string, number>;
  params: Record<string, unknown>;
  headlineParams: Record<string, string | number | boolean>;
  epochs: object[];
  split: object;
  reportHtml: string;
  lineage: ModelLineage;
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** transformers' config.json for the classifier: label maps, sizes, and the longest input it accepts. */
export function hfConfig(config: TextTransformerConfig, labels: readonly string[]): Record<string, unknown> {
  if (labels.length !== config.numLabels) throw new Error(`${labels.length} label names for ${config.numLabels} classes`);
  return {
    architectures: ["FunnelTextTransformerForSequenceClassification"],
    model_type: "funnel-text-transformer",
    problem_type: "single_label_classification",
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
    max_position_embeddings: config.maxLength,
    vocab_size: config.vocabSize,
    hidden_size: config.dim,
    num_hidden_layers: config.layers,
    num_attention_heads: config.heads,
    intermediate_size: config.ffnDim,
    hidden_act: "relu",
    layer_norm_eps: 1e-5,
    pad_token_id: PAD_ID,
  };
}

/** Writes the tfjs weights as one float32 little-endian file plus an index of name → shape and offset. */
export async function writeTextClassifierCheckpoint(dir: string, c: TextClassifierCheckpoint): Promise<void> {
  await mkdir(dir, { recursive: true });
  const names = Object.keys(c.weights).sort();
  const total = names.reduce((n, name) => n + c.weights[name]!.values.length, 0);
  const buffer = Buffer.alloc(total * 4);
  const index: Record<string, { shape: number[]; offset: number }> = {};
  let offset = 0;
  for (const name of names) {
    const { shape, values } = c.weights[name]!;
    index[name] = { shape, offset };
    for (let i = 0; i < values.length; i++) buffer.writeFloatLE(values[i]!, (offset + i) * 4);
    offset += values.length;
  }
  await Promise.all([
    writeFile(path.join(dir, TEXT_CLASSIFIER_FILES.weights), buffer),
    writeFile(path.join(dir, TEXT_CLASSIFIER_FILES.weightsIndex), json({ config: c.config, labels: c.labels, vocab: c.vocab, weights: index })),
  ]);
}

export async function readTextClassifierCheckpoint(dir: string): Promise<TextClassifierCheckpoint> {
  const index = JSON.parse(await readFile(path.join(dir, TEXT_CLASSIFIER_FILES.weightsIndex), "utf8")) as {
    config: TextTransformerConfig;
    labels: string[];
    vocab: string[];
    weights: Record<string, { shape: number[]; offset: number }>;
  };
  const buffer = await readFile(path.join(dir, TEXT_CLASSIFIER_FILES.weights));
  const weights: TextTransformerWeights = {};
  for (const [name, { shape, offset }] of Object.entries(index.weights)) {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = buffer.readFloatLE((offset + i) * 4);
    weights[name] = { shape, values };
  }
  return { config: index.config, labels: index.labels, vocab: index.vocab, weights };
}

/** The Hugging Face files alone (model.onnx, config.json, tokenizer files) from a checkpoint. */
export async function writeHfFiles(dir: string, c: TextClassifierCheckpoint, name: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tokenizer = new WordPieceTokenizer(c.vocab);
  const file = (f: string): string => path.join(dir, f);
  const f = TEXT_CLASSIFIER_FILES;
  await Promise.all([
    writeFile(file(f.onnx), buildOnnxTextClassifier(c.config, c.weights, { model: name })),
    writeFile(file(f.config), json(hfConfig(c.config, c.labels))),
    writeFile(file(f.tokenizer), json(tokenizer.toTokenizerJson(c.config.maxLength))),
    writeFile(file(f.tokenizerConfig), json(WordPieceTokenizer.tokenizerConfig(c.config.maxLength))),
    writeFile(file(f.specialTokensMap), json({ unk_token: "[UNK]", sep_token: "[SEP]", pad_token: "[PAD]", cls_token: "[CLS]", mask_token: "[MASK]" })),
  ]);
}

/**
 * Writes a Hugging Face sequence-classification directory (model.onnx, config.json, tokenizer.json,
 * tokenizer_config.json) with the run's records, finishing with manifest.json. Refuses a non-empty directory.
 */
export async function writeTextClassifierDirectory(dir: string, c: TextClassifierDirectoryContents): Promise<ModelManifest> {
  const existing = await readdir(dir).catch(() => [] as string[]);
  if (existing.length > 0) throw new Error(`model directory ${dir} is not empty; choose a new --out or remove it first`);
  await writeTextClassifierCheckpoint(dir, c);
  await writeHfFiles(dir, c, c.name);
  const file = (name: string): string => path.join(dir, name);
  const f = TEXT_CLASSIFIER_FILES;
  await Promise.all([
    writeFile(file(f.metrics), json(c.metrics)),
    writeFile(file(f.epochs), json(c.epochs)),
    writeFile(file(f.params), json(c.params)),
    writeFile(file(f.split), json(c.split)),
    writeFile(file(f.report), c.reportHtml),
  ]);
  return writeModelDirectoryManifest(dir, {
    name: c.name,
    kind: HF_SEQUENCE_CLASSIFICATION_KIND,
    metrics: c.headlineMetrics,
    params: c.headlineParams,
    lineage: c.lineage,
  });
}
