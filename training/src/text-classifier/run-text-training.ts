import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { ModelManifest } from "@funnel/registry";
import { Tokenizer } from "@huggingface/tokenizers";
import { progressBar, trainingProgress } from "../cli/training-progress.js";
import { initBackend } from "../model/init-backend.js";
import { type ClassificationMetrics, classificationMetrics } from "./classification-metrics.js";
import { type LabeledText, readLabeledText } from "./read-labeled-text.js";
import { renderTextClassifierReport } from "./render-text-classifier-report.js";
import { findLeaks, type LabeledTextSplit, SPLIT_FORMAT, SPLIT_METHOD, type SplitRecord, splitFileRecord, splitLabeledText } from "./split-labeled-text.js";
import { initialWeights, type TextTransformerConfig } from "./text-transformer-model.js";
import { type EncodedSet, evaluateClassifier, type TextTrainOptions, trainTextClassifier } from "./train-text-classifier.js";
import { trainWordPiece, WordPieceTokenizer } from "./wordpiece-tokenizer.js";
import { writeTextClassifierCheckpoint, writeTextClassifierDirectory } from "./write-text-classifier-directory.js";

export interface TextRunConfig {
  /** Labeled files; each keeps its own held-out sentences (split.json). */
  data: string[];
  out: string;
  name: string;
  /** Class names by index, e.g. NEGATIVE, POSITIVE for 0/1 labels. */
  labels: string[];
  seed: number;
  /** Held-out sentences per file, capped at HOLDOUT_MAX_SHARE of a file's sentences. */
  validationRows: number;
  testRows: number;
  vocabSize: number;
  model: Omit<TextTransformerConfig, "vocabSize" | "numLabels">;
  training: Omit<TextTrainOptions, "seed">;
  strict?: boolean;
}

/**
 * The most of a file's sentences held out for validation / test: SST-2 (6,885 sentences) gives its requested
 * counts; a 1,000-row UCI file keeps 65 % of its sentences for training and still yields ~150 / ~200 held out.
 */
export const HOLDOUT_MAX_SHARE = { validation: 0.15, test: 0.2 };

export interface TextRunSummary {
  out: string;
  manifest: ModelManifest;
  metrics: Record<"validation" | "test", Omit<ClassificationMetrics, "confusion">> & { testByFile: Record<string, Omit<ClassificationMetrics, "confusion">> };
  tokenizer: { vocabSize: number; libraryMismatches: number; rowsCompared: number; truncated: number };
  bestEpoch: number;
  stoppedEarly: boolean;
  secondsPerEpoch: number[];
}

/**
 * `train-text`: read the labeled file, split it (seeded; the test part is written to split.json and never
 * trained on), learn the WordPiece vocabulary on the training part, check the serving tokenizer library gives
 * the same ids on every row, train, evaluate and write the Hugging Face-layout model directory.
 */
export async function runTextTraining(
  config: TextRunConfig,
  options: { progress?: boolean; gitCommit?: string | undefined; log?: (line: string) => void } = {},
): Promise<TextRunSummary> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const progress = options.progress ?? true;
  const backend = await initBackend();
  log(`tfjs backend: ${backend.name} (${backend.provider})`);
  const files: { file: string; rows: LabeledText[]; split: LabeledTextSplit }[] = [];
  for (const data of config.data) {
    const file = await readLabeledText(data, { numLabels: config.labels.length, strict: config.strict });
    for (const bad of file.bad.slice(0, 10)) log(`${bad.file}:${bad.line}: ${bad.reason}`);
    log(`${data}: ${file.rows.length} rows${file.bad.length > 0 ? `, ${file.bad.length} bad rows skipped (listed above, first 10)` : ""}`);
    const split = splitLabeledText(file.rows, { validation: config.validationRows, test: config.testRows, seed: config.seed, maxShare: HOLDOUT_MAX_SHARE });
    const leaks = findLeaks(split.train, [...split.validation, ...split.test, ...split.validationPhrases, ...split.testPhrases]);
    if (leaks.length > 0) throw new Error(`${data}: the split leaks: ${leaks.length} held-out texts occur inside training texts, e.g. line ${leaks[0]!.line} inside line ${leaks[0]!.insideLine}`);
    log(
      `split of ${data} (seed ${config.seed}): ${split.sentences} sentences; ${split.train.length} train rows / ${split.validation.length} validation / ` +
        `${split.test.length} test sentences (+ ${split.validationPhrases.length + split.testPhrases.length} of their phrases held out, ` +
        `${split.excluded.length} phrases shared with training rows excluded); no held-out text occurs inside a training text`,
    );
    files.push({ file: data, rows: file.rows, split });
  }
  const split = {
    train: files.flatMap((f) => f.split.train),
    validation: files.flatMap((f) => f.split.validation),
    test: files.flatMap((f) => f.split.test),
  };
  const allRows = files.flatMap((f) => f.rows);

  const vocabBar = progressBar("vocab", Math.max(1, config.vocabSize), progress);
  const vocab = trainWordPiece(
    split.train.map((r) => r.text),
    { vocabSize: config.vocabSize, onProgress: (done) => vocabBar.update(done) },
  );
  vocabBar.stop();
  const tokenizer = new WordPieceTokenizer(vocab);
  const check = compareWithLibrary(tokenizer, allRows, config.model.maxLength, progress);
  log(`WordPiece vocabulary ${vocab.length}; @huggingface/tokenizers ids differ on ${check.mismatches} of ${allRows.length} rows`);
  if (check.mismatches > 0) throw new Error(`the serving tokenizer library disagrees with training on ${check.mismatches} rows, e.g. ${JSON.stringify(check.example)}`);

  const encode = (rows: LabeledText[]): EncodedSet & { truncated: number } => {
    let truncated = 0;
    const ids = rows.map((r) => {
      const e = tokenizer.encode(r.text, config.model.maxLength);
      if (e.truncated) truncated++;
      return e.ids;
    });
    return { ids, labels: rows.map((r) => r.label), truncated };
  };
  const [train, validation, test] = [encode(split.train), encode(split.validation), encode(split.test)];
  const truncated = train.truncated + validation.truncated + test.truncated;
  log(`${truncated} rows longer than ${config.model.maxLength} tokens are truncated`);

  const modelConfig: TextTransformerConfig = { ...config.model, vocabSize: vocab.length, numLabels: config.labels.length };
  const trainOptions: TextTrainOptions = { ...config.training, seed: config.seed };
  const bars = trainingProgress(trainOptions.epochs, { enabled: progress });
  const checkpointDir = `${config.out}.checkpoint`;
  let result: Awaited<ReturnType<typeof trainTextClassifier>>;
  try {
    result = await trainTextClassifier(modelConfig, initialWeights(modelConfig, config.seed), train, validation, trainOptions, {
      ...bars,
      onStep: (info) => {
        bars.onStep?.(info);
        // Logs (no terminal, no bars) still show a long epoch moving.
        if (process.stderr.isTTY !== true && info.step % 100 === 0) log(`epoch ${info.epoch} step ${info.step}/${info.steps}: loss ${info.loss.toFixed(4)}`);
      },
      onEpochEnd: (e) => {
        bars.onEpochEnd?.(e);
        log(`epoch ${e.epoch}: validation accuracy ${e["validation accuracy"].toFixed(4)}`);
      },
      // The best weights so far survive an interrupted run; `export-text --from` turns them into a directory.
      onBest: (weights) => writeTextClassifierCheckpoint(checkpointDir, { config: modelConfig, weights, vocab, labels: config.labels }),
    });
  } finally {
    bars.stop();
  }
  const evaluate = (set: EncodedSet): ClassificationMetrics =>
    classificationMetrics(set.labels, evaluateClassifier(result.model, set).predictions, modelConfig.numLabels);
  const metrics = { validation: evaluate(validation), test: evaluate(test) };
  const strip = ({ confusion: _, ...m }: ClassificationMetrics) => m;
  const testByFile = Object.fromEntries(files.map((f) => [path.basename(f.file), strip(evaluate(encode(f.split.test)))]));
  log(`test: accuracy ${metrics.test.accuracy.toFixed(4)}, macro-F1 ${metrics.test.macroF1.toFixed(4)} (${metrics.test.rows} held-out sentences)`);
  for (const [name, m] of Object.entries(testByFile)) log(`  ${name}: accuracy ${m.accuracy.toFixed(4)}, macro-F1 ${m.macroF1.toFixed(4)} (${m.rows})`);
  const weights = result.model.weights();
  result.model.dispose();

  const fingerprint = createHash("sha256");
  for (const data of config.data) fingerprint.update(await readFile(data));
  const dataFingerprint = fingerprint.digest("hex");
  const params = { ...config, model: modelConfig, training: trainOptions, backend };
  const manifest = await writeTextClassifierDirectory(config.out, {
    name: config.name,
    config: modelConfig,
    weights,
    vocab,
    labels: config.labels,
    metrics: { validation: metrics.validation, test: metrics.test, testByFile, bestEpoch: result.bestEpoch, stoppedEarly: result.stoppedEarly, truncatedRows: truncated },
    headlineMetrics: {
      accuracy: metrics.test.accuracy,
      "macro-f1": metrics.test.macroF1,
      "validation accuracy": metrics.validation.accuracy,
    },
    params,
    headlineParams: {
      dim: modelConfig.dim,
      heads: modelConfig.heads,
      layers: modelConfig.layers,
      ffnDim: modelConfig.ffnDim,
      maxLength: modelConfig.maxLength,
      vocabSize: modelConfig.vocabSize,
      epochs: result.epochs.length,
      batchSize: trainOptions.batchSize,
      learningRate: trainOptions.learningRate,
    },
    epochs: result.epochs,
    split: {
      format: SPLIT_FORMAT,
      seed: config.seed,
      method: SPLIT_METHOD,
      maxShare: HOLDOUT_MAX_SHARE,
      files: files.map((f) => splitFileRecord(f.file, f.rows.length, f.split)),
    } satisfies SplitRecord & { maxShare: typeof HOLDOUT_MAX_SHARE },
    reportHtml: renderTextClassifierReport({
      title: `${config.name}: ${config.data.map((f) => path.basename(f)).join(", ")}`,
      params,
      epochs: result.epochs,
      bestEpoch: result.bestEpoch,
      metrics: { validation: metrics.validation, test: metrics.test },
      confusion: metrics.test.confusion,
      labels: config.labels,
    }),
    lineage: { dataFingerprint, seed: config.seed, trainingConfig: params, ...(options.gitCommit ? { gitCommit: options.gitCommit } : {}) },
  });
  return {
    out: config.out,
    manifest,
    metrics: { validation: strip(metrics.validation), test: strip(metrics.test), testByFile },
    tokenizer: { vocabSize: vocab.length, libraryMismatches: check.mismatches, rowsCompared: allRows.length, truncated },
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    secondsPerEpoch: result.epochs.map((e) => Math.round(e.seconds)),
  };
}

/** Encodes every row with the serving library from the tokenizer.json training writes and counts differing ids. */
export function compareWithLibrary(
  tokenizer: WordPieceTokenizer,
  rows: readonly LabeledText[],
  maxLength: number,
  progress = false,
): { mismatches: number; example?: { line: number; training: number[]; library: number[] } } {
  const library = new Tokenizer(tokenizer.toTokenizerJson(maxLength), WordPieceTokenizer.tokenizerConfig(maxLength));
  const bar = progressBar("tokenize", rows.length, progress);
  let mismatches = 0;
  let example: { line: number; training: number[]; library: number[] } | undefined;
  for (const [i, row] of rows.entries()) {
    // Compared untruncated: the library has no truncation of its own; serving truncates its ids the same way.
    const ours = tokenizer.encode(row.text, Number.MAX_SAFE_INTEGER).ids;
    const theirs = library.encode(row.text).ids;
    if (ours.length !== theirs.length || ours.some((id, j) => id !== theirs[j])) {
      mismatches++;
      example ??= { line: row.line, training: ours, library: theirs };
    }
    if (i % 1000 === 0) bar.update(i);
  }
  bar.stop();
  return example ? { mismatches, example } : { mismatches };
}
