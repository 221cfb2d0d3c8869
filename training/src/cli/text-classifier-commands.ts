import type { ModelRegistry } from "@funnel/registry";
import { type Command, InvalidArgumentError } from "commander";
import { importHfClassifier } from "../text-classifier/import-hf-classifier.js";
import { runTextTraining } from "../text-classifier/run-text-training.js";
import { DEFAULT_TEXT_TRAIN_OPTIONS } from "../text-classifier/train-text-classifier.js";
import { readTextClassifierCheckpoint, writeHfFiles } from "../text-classifier/write-text-classifier-directory.js";
import { publishModelDirectory } from "./publish-model-directory.js";

const int = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
  return n;
};
const num = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0, got "${value}"`);
  return n;
};

interface TrainTextFlags {
  data: string[];
  out: string;
  name: string;
  labels: string;
  seed: number;
  validationRows: number;
  testRows: number;
  vocabSize: number;
  maxLength: number;
  dim: number;
  heads: number;
  layers: number;
  ffnDim: number;
  epochs: number;
  batchSize: number;
  lr: number;
  warmup: number;
  dropout: number;
  weightDecay: number;
  patience: number;
  strict?: boolean;
  progress: boolean;
  publish?: boolean;
  promoteIfBetter?: string;
  alias: string;
}

/**
 * `train-text` (sentiment transformer) and `import-hf` (any Hugging Face-layout ONNX sequence classifier into
 * the registry). The registry and git commit come from main.ts, the only place that reads the environment.
 */
export function addTextClassifierCommands(program: Command, env: { registry: () => ModelRegistry; gitCommit: () => string | undefined }): void {
  const d = DEFAULT_TEXT_TRAIN_OPTIONS;
  program
    .command("train-text")
    .description("train the transformer text classifier on a labeled TSV/CSV (text, label) and write a Hugging Face-layout ONNX directory")
    .requiredOption("--data <file...>", "labeled files: .tsv/.txt (text<TAB>label) or .csv; header optional; each keeps its own held-out sentences")
    .requiredOption("--out <dir>", "model directory to write (must not exist or be empty)")
    .option("--name <name>", "registered model name", "sentiment-transformer")
    .option("--labels <names>", "class names by label index, comma-separated", "NEGATIVE,POSITIVE")
    .option("--seed <n>", "seed (split, vocabulary order, initialisation, batches)", int("--seed"), d.seed)
    .option("--validation-rows <n>", "sentences per file held out (with their phrases) for early stopping and policy fitting; at most 15 % of a file's sentences", int("--validation-rows"), 600)
    .option("--test-rows <n>", "sentences per file held out (with their phrases) for the test metrics, never trained on (lines in split.json); at most 20 % of a file's sentences", int("--test-rows"), 1000)
    .option("--vocab-size <n>", "WordPiece vocabulary size", int("--vocab-size"), 6000)
    .option("--max-length <n>", "longest input in tokens incl. [CLS]/[SEP]; longer texts are truncated", int("--max-length"), 64)
    .option("--dim <n>", "model width", int("--dim"), 64)
    .option("--heads <n>", "attention heads (must divide --dim)", int("--heads"), 4)
    .option("--layers <n>", "encoder layers", int("--layers"), 2)
    .option("--ffn-dim <n>", "feed-forward width", int("--ffn-dim"), 128)
    .option("--epochs <n>", "maximum epochs", int("--epochs"), d.epochs)
    .option("--batch-size <n>", "batch size", int("--batch-size"), d.batchSize)
    .option("--lr <x>", "peak learning rate (warm-up, then cosine decay)", num("--lr"), d.learningRate)
    .option("--warmup <n>", "warm-up steps", int("--warmup"), d.warmupSteps)
    .option("--dropout <x>", "dropout rate", num("--dropout"), d.dropout)
    .option("--weight-decay <x>", "L2 decay on kernels", num("--weight-decay"), d.weightDecay)
    .option("--patience <n>", "early stopping: epochs without a better validation accuracy", int("--patience"), d.patience)
    .option("--strict", "stop at the first bad row instead of reporting and skipping it")
    .option("--no-progress", "no progress bars")
    .option("--publish", "register the model directory with the registry (FUNNEL_REGISTRY, ...)")
    .option("--promote-if-better <metric>", "with --publish: move the alias only if this metric beats its current version")
    .option("--alias <alias>", "alias moved by --promote-if-better", "production")
    .action(async (f: TrainTextFlags) => {
      if (f.promoteIfBetter && !f.publish) throw new InvalidArgumentError("--promote-if-better needs --publish");
      if (f.dim % f.heads !== 0) throw new InvalidArgumentError(`--heads ${f.heads} must divide --dim ${f.dim}`);
      const labels = f.labels.split(",").map((l) => l.trim());
      if (labels.length < 2 || labels.some((l) => l === "")) throw new InvalidArgumentError(`--labels needs at least two non-empty names, got "${f.labels}"`);
      const summary = await runTextTraining(
        {
          data: f.data,
          out: f.out,
          name: f.name,
          labels,
          seed: f.seed,
          validationRows: f.validationRows,
          testRows: f.testRows,
          vocabSize: f.vocabSize,
          model: { maxLength: f.maxLength, dim: f.dim, heads: f.heads, layers: f.layers, ffnDim: f.ffnDim },
          training: {
            epochs: f.epochs,
            batchSize: f.batchSize,
            learningRate: f.lr,
            warmupSteps: f.warmup,
            dropout: f.dropout,
            weightDecay: f.weightDecay,
            patience: f.patience,
            clipNorm: d.clipNorm,
          },
          ...(f.strict ? { strict: true } : {}),
        },
        { progress: f.progress, gitCommit: env.gitCommit() },
      );
      const { manifest: _, ...rest } = summary;
      const result: Record<string, unknown> = { ...rest };
      if (f.publish) {
        result.published = await publishModelDirectory(env.registry(), summary.out, { name: f.name, promoteIfBetter: f.promoteIfBetter, alias: f.alias });
      }
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });

  program
    .command("export-text")
    .description("write the Hugging Face files (model.onnx, config.json, tokenizer.json, ...) from a train-text checkpoint or model directory")
    .requiredOption("--from <dir>", "a directory holding tfjs-weights.json/.bin (e.g. <out>.checkpoint of an interrupted run)")
    .requiredOption("--out <dir>", "directory to write")
    .option("--name <name>", "model name recorded in the ONNX metadata", "sentiment-transformer")
    .action(async (f: { from: string; out: string; name: string }) => {
      await writeHfFiles(f.out, await readTextClassifierCheckpoint(f.from), f.name);
      process.stdout.write(`${JSON.stringify({ out: f.out }, null, 2)}\n`);
    });

  program
    .command("import-hf")
    .description("register a Hugging Face-format ONNX sequence-classification directory (model.onnx, config.json, tokenizer.json)")
    .requiredOption("--dir <dir>", "the directory, e.g. an optimum export of a DistilBERT SST-2 model")
    .requiredOption("--name <name>", "registered model name, e.g. sentiment-transformer")
    .option("--alias <alias>", "also point this alias at the new version")
    .action(async (f: { dir: string; name: string; alias?: string }) => {
      const imported = await importHfClassifier(env.registry(), f.dir, { name: f.name, ...(f.alias ? { alias: f.alias } : {}) });
      process.stdout.write(`${JSON.stringify(imported, null, 2)}\n`);
    });
}
