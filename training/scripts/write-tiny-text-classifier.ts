// Writes the small Hugging Face-layout text classifier the sentiment service's tests load (no tfjs there):
// trained here on a synthetic two-class corpus, exported with the real export path, plus expected.json with
// the tfjs probabilities for a few texts so serving can check its tokenisation, padding and ONNX run against
// training. Usage: npx tsx scripts/write-tiny-text-classifier.ts <out-dir>
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createSeededRandom } from "../src/data/seeded-random.js";
import { initBackend } from "../src/model/init-backend.js";
import { initialWeights, padBatch, TextTransformerModel } from "../src/text-classifier/text-transformer-model.js";
import { trainTextClassifier } from "../src/text-classifier/train-text-classifier.js";
import { trainWordPiece, WordPieceTokenizer } from "../src/text-classifier/wordpiece-tokenizer.js";
import { buildOnnxTextClassifier } from "../src/text-classifier/build-onnx-text-classifier.js";
import { TEXT_CLASSIFIER_FILES, writeTextClassifierDirectory } from "../src/text-classifier/write-text-classifier-directory.js";

const out = process.argv[2];
if (!out) throw new Error("usage: write-tiny-text-classifier.ts <out-dir>");
const random = createSeededRandom(11);
const positive = ["great", "love", "excellent", "wonderful", "amazing", "fast", "perfect", "happy"];
const negative = ["bad", "hate", "awful", "terrible", "broken", "slow", "useless", "refund"];
const filler = ["the", "checkout", "was", "product", "delivery", "it", "really", "this", "page", "my", "order", "so"];
const sentence = (words: string[]): string =>
  Array.from({ length: 3 + random.int(6) }, (_, i) => (i === 1 ? random.pick(words) : random.pick(filler))).join(" ");
const rows = Array.from({ length: 600 }, (_, i) => ({ text: sentence(i % 2 === 0 ? negative : positive), label: i % 2 }));
const maxLength = 16;
const vocab = trainWordPiece(rows.map((r) => r.text), { vocabSize: 120 });
const tokenizer = new WordPieceTokenizer(vocab);
const set = { ids: rows.map((r) => tokenizer.encode(r.text, maxLength).ids), labels: rows.map((r) => r.label) };
const config = { vocabSize: vocab.length, maxLength, dim: 16, heads: 2, layers: 2, ffnDim: 32, numLabels: 2 };
await initBackend();
const result = await trainTextClassifier(config, initialWeights(config, 5), set, set, {
  epochs: 6, batchSize: 32, learningRate: 5e-3, warmupSteps: 10, weightDecay: 0, dropout: 0, patience: 6, clipNorm: 1, seed: 5,
});
const weights = result.model.weights();
const texts = ["great checkout really love it", "awful slow delivery", "the page", "my order was broken and the refund was slow so i hate this useless page and the product"];
const model = new TextTransformerModel(config, weights);
const probabilities = texts.map((t) => {
  const e = tokenizer.encode(t, maxLength);
  return { text: t, truncated: e.truncated, ids: e.ids, probabilities: Array.from(model.predict(padBatch([e.ids]))) };
});
const temp = await mkdtemp(path.join(tmpdir(), "tiny-text-"));
const dir = path.join(temp, "model");
await writeTextClassifierDirectory(dir, {
  name: "tiny-sentiment", config, weights, vocab, labels: ["NEGATIVE", "POSITIVE"], metrics: {}, headlineMetrics: {}, params: {}, headlineParams: {},
  epochs: result.epochs, split: {}, reportHtml: "<!doctype html><title>tiny</title>", lineage: { dataFingerprint: "synthetic-tiny-corpus" },
});
await mkdir(out, { recursive: true });
for (const f of [TEXT_CLASSIFIER_FILES.onnx, TEXT_CLASSIFIER_FILES.config, TEXT_CLASSIFIER_FILES.tokenizer, TEXT_CLASSIFIER_FILES.tokenizerConfig]) {
  await copyFile(path.join(dir, f), path.join(out, f));
}
// The same weights in the BERT-style three-input layout (token_type_ids), for the serving tests of that layout.
await writeFile(path.join(out, "model-token-types.onnx"), buildOnnxTextClassifier(config, weights, { model: "tiny-sentiment" }, { tokenTypeIds: true }));
await writeFile(path.join(out, "expected.json"), `${JSON.stringify({ validationAccuracy: result.bestValidationAccuracy, predictions: probabilities }, null, 2)}\n`);
await rm(temp, { recursive: true, force: true });
process.stderr.write(`wrote ${out} (training accuracy ${result.bestValidationAccuracy.toFixed(3)})\n`);
