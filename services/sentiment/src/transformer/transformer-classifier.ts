import { readFile } from "node:fs/promises";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { HfTextEncoder } from "./hf-text-encoder.js";

/** Where a class name sits on the sentiment axis (see polarityOfLabel). */
export type LabelPolarity = "negative" | "neutral" | "positive" | "other";

export interface TransformerPrediction {
  /** Class name from config.json id2label, e.g. POSITIVE or LABEL_1. */
  label: string;
  labelIndex: number;
  polarity: LabelPolarity;
  /** Probability of the predicted class. */
  score: number;
  /** Softmax over the logits, by class index. */
  probabilities: number[];
  /** P(positive classes) − P(negative classes), in [-1, 1]: comparable to the rule scorer's score. */
  sentiment: number;
  /**
   * log P(positive classes) − log P(negative classes), from the logits (no saturation): the hybrid's
   * combination input. 0 when the model has no class on one of the two sides.
   */
  margin: number;
  /** The text had more tokens than maxWindows windows hold and its end was cut. */
  truncated: boolean;
  /** Windows of maxLength tokens the text was read in (1 when it fits); their logits are averaged. */
  windows: number;
}

export interface TransformerClassifierOptions {
  /** Longer inputs are truncated to this many tokens; default: the model's own limit (see maxLengthOf). */
  maxLength?: number;
  /** onnxruntime intra-op threads; default 1 (the service shares its cores with other work). */
  intraOpThreads?: number;
  /**
   * A text longer than maxLength is read in half-overlapping windows whose logits are averaged (long reviews
   * were cut at 64 tokens before, losing their verdict, which often comes last); at most this many windows,
   * default 8. 1 = truncate from the right as transformers does.
   */
  maxWindows?: number;
}

/** Default cap on windows per text: 8 half-overlapping windows of 64 tokens read about 280 tokens. */
export const DEFAULT_MAX_WINDOWS = 8;

const INPUT_IDS = "input_ids";
const ATTENTION_MASK = "attention_mask";
const TOKEN_TYPE_IDS = "token_type_ids";
const LOGITS = "logits";
/** transformers writes this "no limit" sentinel (int(1e30)) as model_max_length for some tokenizers. */
const NO_LIMIT = 1_000_000;

/**
 * A Hugging Face-layout ONNX sequence classifier (model.onnx, config.json, tokenizer.json, optional
 * tokenizer_config.json) run with onnxruntime: the one this project's `train-text` writes or any imported
 * export (BERT, DistilBERT, RoBERTa; token_type_ids is fed as zeros when the model has it).
 * Serving never loads tfjs: tokenisation is @huggingface/tokenizers, inference onnxruntime-node.
 */
export class TransformerClassifier {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly encoder: HfTextEncoder,
    readonly labels: readonly string[],
    private readonly polarities: readonly LabelPolarity[],
    private readonly idType: "int64" | "int32",
    readonly dir: string,
    readonly maxWindows: number,
  ) {}

  static async load(dir: string, options: TransformerClassifierOptions = {}): Promise<TransformerClassifier> {
    const json = async (file: string, required: boolean): Promise<Record<string, unknown>> => {
      let text: string;
      try {
        text = await readFile(path.join(dir, file), "utf8");
      } catch (error) {
        if (!required) return {};
        throw new Error(`${path.join(dir, file)}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); a transformer directory needs model.onnx, config.json and tokenizer.json`);
      }
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch (error) {
        throw new Error(`${path.join(dir, file)}: not valid JSON: ${(error as Error).message}`);
      }
    };
    const [config, tokenizerJson, tokenizerConfig] = await Promise.all([json("config.json", true), json("tokenizer.json", true), json("tokenizer_config.json", false)]);
    const labels = labelsOf(config, dir);
    const maxLength = options.maxLength ?? maxLengthOf(config, tokenizerConfig, tokenizerJson);
    const padId = padIdOf(config, tokenizerJson, tokenizerConfig);
    const encoder = HfTextEncoder.fromJson(tokenizerJson, tokenizerConfig, maxLength, padId);
    const session = await ort.InferenceSession.create(path.join(dir, "model.onnx"), {
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    });
    const fail = async (reason: string): Promise<never> => {
      await session.release();
      throw new Error(`${path.join(dir, "model.onnx")}: ${reason}`);
    };
    if (!session.inputNames.includes(INPUT_IDS)) await fail(`has inputs [${session.inputNames}]; expected ${INPUT_IDS}`);
    const unknown = session.inputNames.filter((n) => n !== INPUT_IDS && n !== ATTENTION_MASK && n !== TOKEN_TYPE_IDS);
    if (unknown.length > 0) await fail(`has inputs this classifier cannot fill: [${unknown}]`);
    if (!session.outputNames.includes(LOGITS)) await fail(`has outputs [${session.outputNames}]; expected ${LOGITS}`);
    const idMeta = session.inputMetadata.find((m) => m.name === INPUT_IDS);
    const idType = idMeta?.isTensor && idMeta.type === "int32" ? "int32" : "int64";
    const maxWindows = options.maxWindows ?? DEFAULT_MAX_WINDOWS;
    if (!Number.isInteger(maxWindows) || maxWindows < 1) await fail(`maxWindows must be a positive integer, got ${maxWindows}`);
    return new TransformerClassifier(session, encoder, labels, labels.map((l) => polarityOfLabel(l, labels.length)), idType, dir, maxWindows);
  }

  /** Longest input in tokens (special tokens included); longer texts are truncated, never rejected. */
  get maxLength(): number {
    return this.encoder.maxLength;
  }

  /** One prediction per text, same order; the batch is padded to its longest text. */
  async predict(texts: readonly string[]): Promise<TransformerPrediction[]> {
    if (texts.length === 0) return [];
    const encoded = texts.map((t) => this.encoder.encodeWindows(t, this.maxWindows));
    // One batch row per window; rows[i] is the text it belongs to.
    const inputs = encoded.flatMap((e) => e.windows);
    const rows = encoded.flatMap((e, i) => e.windows.map(() => i));
    const length = Math.max(...inputs.map((ids) => ids.length));
    const size = inputs.length * length;
    const wide = this.idType === "int64";
    const ids = wide ? new BigInt64Array(size) : new Int32Array(size);
    const mask = wide ? new BigInt64Array(size) : new Int32Array(size);
    for (const [b, windowIds] of inputs.entries()) {
      for (let t = 0; t < length; t++) {
        const real = t < windowIds.length;
        const id = real ? windowIds[t]! : this.encoder.padId;
        if (wide) {
          (ids as BigInt64Array)[b * length + t] = BigInt(id);
          (mask as BigInt64Array)[b * length + t] = real ? 1n : 0n;
        } else {
          (ids as Int32Array)[b * length + t] = id;
          (mask as Int32Array)[b * length + t] = real ? 1 : 0;
        }
      }
    }
    const shape = [inputs.length, length];
    const feeds: Record<string, ort.Tensor> = { [INPUT_IDS]: new ort.Tensor(this.idType, ids, shape) };
    if (this.session.inputNames.includes(ATTENTION_MASK)) feeds[ATTENTION_MASK] = new ort.Tensor(this.idType, mask, shape);
    if (this.session.inputNames.includes(TOKEN_TYPE_IDS)) feeds[TOKEN_TYPE_IDS] = new ort.Tensor(this.idType, wide ? new BigInt64Array(size) : new Int32Array(size), shape);
    const output = (await this.session.run(feeds))[LOGITS]!;
    const k = this.labels.length;
    if (output.dims.length !== 2 || output.dims[0] !== inputs.length || output.dims[1] !== k) {
      throw new Error(`${this.dir}: logits have shape [${output.dims}], expected [${inputs.length}, ${k}] (config.json id2label has ${k} classes)`);
    }
    const windowLogits = output.data as Float32Array;
    // Mean of the windows' logits per text (one window: its own logits, unchanged).
    const logits = new Float32Array(texts.length * k);
    for (const [r, text] of rows.entries()) {
      const share = 1 / encoded[text]!.windows.length;
      for (let c = 0; c < k; c++) logits[text * k + c]! += windowLogits[r * k + c]! * share;
    }
    return encoded.map((e, b) => {
      const probabilities = softmax(logits.subarray(b * k, (b + 1) * k));
      let best = 0;
      for (let c = 1; c < k; c++) if (probabilities[c]! > probabilities[best]!) best = c;
      let sentiment = 0;
      for (let c = 0; c < k; c++) sentiment += this.polarities[c] === "positive" ? probabilities[c]! : this.polarities[c] === "negative" ? -probabilities[c]! : 0;
      const row = logits.subarray(b * k, (b + 1) * k);
      return {
        label: this.labels[best]!,
        labelIndex: best,
        polarity: this.polarities[best]!,
        score: probabilities[best]!,
        probabilities,
        sentiment,
        margin: this.logSumExpOf(row, "positive") - this.logSumExpOf(row, "negative") || 0,
        truncated: e.truncated,
        windows: e.windows.length,
      };
    });
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  /** log Σ exp(logit) over the classes of one polarity (−∞ when there is none; the caller maps NaN to 0). */
  private logSumExpOf(logits: ArrayLike<number>, polarity: LabelPolarity): number {
    let max = -Infinity;
    for (let c = 0; c < logits.length; c++) if (this.polarities[c] === polarity) max = Math.max(max, logits[c]!);
    if (max === -Infinity) return Number.NaN;
    let sum = 0;
    for (let c = 0; c < logits.length; c++) if (this.polarities[c] === polarity) sum += Math.exp(logits[c]! - max);
    return max + Math.log(sum);
  }
}

/**
 * Maps a class name to the sentiment axis: names containing neg/pos/neu (NEGATIVE, positive, Neutral, …);
 * star ratings ("1 star" … "5 stars": ≤ 2 negative, 3 neutral, ≥ 4 positive); and LABEL_i by the common
 * conventions — two classes are SST-2's 0 = negative, 1 = positive; three are negative, neutral, positive.
 * Anything else is "other" and counts toward neither side.
 */
export function polarityOfLabel(label: string, numLabels: number): LabelPolarity {
  const name = label.trim().toLowerCase();
  if (name.includes("neg")) return "negative";
  if (name.includes("pos")) return "positive";
  if (name.includes("neu")) return "neutral";
  const stars = /^([1-5])\s*stars?$/.exec(name);
  if (stars) return Number(stars[1]) <= 2 ? "negative" : Number(stars[1]) === 3 ? "neutral" : "positive";
  const index = /^label_(\d+)$/.exec(name);
  if (index) {
    const i = Number(index[1]);
    if (numLabels === 2) return i === 0 ? "negative" : "positive";
    if (numLabels === 3) return (["negative", "neutral", "positive"] as const)[i] ?? "other";
  }
  return "other";
}

function labelsOf(config: Record<string, unknown>, dir: string): string[] {
  const id2label = config.id2label;
  if (!id2label || typeof id2label !== "object" || Object.keys(id2label).length < 2) {
    throw new Error(`${path.join(dir, "config.json")}: needs "id2label" with at least two classes`);
  }
  const entries = Object.entries(id2label as Record<string, unknown>).map(([id, name]) => [Number(id), String(name)] as const);
  entries.sort((a, b) => a[0] - b[0]);
  for (const [i, [id]] of entries.entries()) {
    if (id !== i) throw new Error(`${path.join(dir, "config.json")}: id2label ids must be 0..${entries.length - 1}, found ${id}`);
  }
  return entries.map(([, name]) => name);
}

/**
 * The model's input limit: tokenizer_config.json model_max_length when it is a real limit, else config.json
 * max_position_embeddings (RoBERTa-style models reserve 2 of those for the padding offset), else the
 * tokenizer.json truncation length, else 512.
 */
export function maxLengthOf(config: Record<string, unknown>, tokenizerConfig: Record<string, unknown>, tokenizerJson: Record<string, unknown>): number {
  const fromTokenizer = tokenizerConfig.model_max_length;
  if (typeof fromTokenizer === "number" && fromTokenizer > 0 && fromTokenizer < NO_LIMIT) return fromTokenizer;
  const positions = config.max_position_embeddings;
  if (typeof positions === "number" && positions > 0) return config.model_type === "roberta" || config.model_type === "xlm-roberta" ? positions - 2 : positions;
  const truncation = tokenizerJson.truncation as { max_length?: unknown } | null | undefined;
  if (truncation && typeof truncation.max_length === "number") return truncation.max_length;
  return 512;
}

function padIdOf(config: Record<string, unknown>, tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>): number {
  if (typeof config.pad_token_id === "number") return config.pad_token_id;
  const padToken = typeof tokenizerConfig.pad_token === "string" ? tokenizerConfig.pad_token : undefined;
  const added = (tokenizerJson.added_tokens as { id: number; content: string }[] | undefined) ?? [];
  return added.find((t) => t.content === padToken)?.id ?? 0;
}

function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const exps = Array.from(logits, (l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}
