import { readFile } from "node:fs/promises";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { Tokenizer } from "@huggingface/tokenizers";
import {
  InvalidModelDirectoryError,
  MANIFEST_FILE,
  parseModelManifest,
  sha256File,
  writeModelDirectoryManifest,
  type ModelRegistry,
} from "@funnel/registry";
import { HF_ATTENTION_MASK, HF_INPUT_IDS, HF_LOGITS, HF_TOKEN_TYPE_IDS } from "./build-onnx-text-classifier.js";
import { HF_SEQUENCE_CLASSIFICATION_KIND } from "./write-text-classifier-directory.js";

/** Inputs a Hugging Face sequence-classification export may have (token_type_ids: BERT-style models). */
const KNOWN_INPUTS = new Set([HF_INPUT_IDS, HF_ATTENTION_MASK, HF_TOKEN_TYPE_IDS]);

export interface ImportedClassifier {
  model: string;
  version: number;
  labels: string[];
  maxLength: number | null;
  inputs: string[];
  alias?: string;
}

/**
 * Checks that `dir` is a usable Hugging Face ONNX sequence classifier — model.onnx with input_ids (and
 * attention_mask, optional token_type_ids) → logits, config.json with id2label, a tokenizer.json the serving
 * library can load — then writes manifest.json (checksums of every file; kind hf-sequence-classification)
 * and registers it. A manifest this project wrote is kept (metrics, lineage), renamed if `name` differs.
 */
export async function importHfClassifier(registry: ModelRegistry, dir: string, options: { name: string; alias?: string }): Promise<ImportedClassifier> {
  const fail = (reason: string): never => {
    throw new InvalidModelDirectoryError(dir, reason);
  };
  const readJson = async (file: string): Promise<Record<string, unknown>> => {
    let text: string;
    try {
      text = await readFile(path.join(dir, file), "utf8");
    } catch {
      return fail(`${file} is missing; a Hugging Face sequence-classification directory needs model.onnx, config.json and tokenizer.json`);
    }
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      return fail(`${file} is not valid JSON: ${(error as Error).message}`);
    }
  };
  const config = await readJson("config.json");
  const id2label = config.id2label as Record<string, unknown> | undefined;
  if (!id2label || typeof id2label !== "object" || Object.keys(id2label).length < 2) fail(`config.json needs "id2label" with at least two classes`);
  const labels = Object.keys(id2label!)
    .map(Number)
    .sort((a, b) => a - b)
    .map((id, i) => (id === i ? String(id2label![String(id)]) : fail(`config.json id2label ids must be 0..n-1, found ${id} at position ${i}`)));
  const tokenizerJson = await readJson("tokenizer.json");
  const tokenizerConfig = await readJson("tokenizer_config.json").catch(() => ({}));
  try {
    new Tokenizer(tokenizerJson, tokenizerConfig).encode("a quick check");
  } catch (error) {
    fail(`tokenizer.json cannot be loaded by @huggingface/tokenizers: ${(error as Error).message}`);
  }
  const onnxFile = path.join(dir, "model.onnx");
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnxFile);
  } catch (error) {
    return fail(`model.onnx cannot be loaded by onnxruntime: ${(error as Error).message}`);
  }
  const inputs = [...session.inputNames];
  const outputs = [...session.outputNames];
  await session.release();
  if (!inputs.includes(HF_INPUT_IDS)) fail(`model.onnx has inputs [${inputs}]; expected ${HF_INPUT_IDS} (and ${HF_ATTENTION_MASK})`);
  const unknown = inputs.filter((i) => !KNOWN_INPUTS.has(i));
  if (unknown.length > 0) fail(`model.onnx has inputs serving cannot fill: [${unknown}]; known are ${[...KNOWN_INPUTS].join(", ")}`);
  if (!outputs.includes(HF_LOGITS)) fail(`model.onnx has outputs [${outputs}]; expected "${HF_LOGITS}"`);
  const maxLength = typeof config.max_position_embeddings === "number" ? config.max_position_embeddings : null;

  const existing = await readFile(path.join(dir, MANIFEST_FILE), "utf8").then(
    (text) => parseModelManifest(JSON.parse(text), path.join(dir, MANIFEST_FILE)),
    () => undefined,
  );
  await writeModelDirectoryManifest(dir, {
    name: options.name,
    kind: HF_SEQUENCE_CLASSIFICATION_KIND,
    metrics: existing?.metrics ?? {},
    params: { ...(existing?.params ?? {}), labels: labels.join(","), inputs: inputs.join(","), ...(maxLength ? { maxLength } : {}) },
    // An imported model's training data is unknown; its weights file identifies it instead.
    lineage: existing?.lineage ?? { dataFingerprint: `model.onnx:sha256:${await sha256File(onnxFile)}` },
  });
  const version = await registry.register(dir, { model: options.name });
  if (options.alias) await registry.setAlias(options.name, options.alias, version.version, { reason: `import-hf ${dir}` });
  return { model: options.name, version: version.version, labels, maxLength, inputs, ...(options.alias ? { alias: options.alias } : {}) };
}
