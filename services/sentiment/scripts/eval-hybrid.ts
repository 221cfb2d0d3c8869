#!/usr/bin/env -S npx tsx
// Accuracy and macro-F1 of plain VADER, the rule scorer, the transformer and the hybrid (rules unless unsure
// or below a confidence threshold → transformer) on labeled files, plus the hybrid's fallback rate.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Presets, SingleBar } from "cli-progress";
import { Command } from "commander";
import { SentimentIntensityAnalyzer } from "vader-sentiment";
import { RuleScorer, type SentimentScore } from "../src/scoring/index.js";
import { TransformerClassifier } from "../src/transformer/transformer-classifier.js";
import { hybridScore, type HybridPolicy } from "../src/transformer/use-transformer.js";
import { BinaryMetricsAccumulator, type BinaryMetrics } from "./binary-metrics.js";
import { readLabeledTsv, type LabeledRow } from "./labeled-tsv.js";

const DEFAULT_DATA = ["amazon_cells", "imdb", "yelp"].map((name) =>
  fileURLToPath(new URL(`../../../../shared/data/uci-sentiment/${name}_labelled.txt`, import.meta.url)),
);
/** Thresholds tried when tuning; 0 = fall back only when the rules are unsure. */
const THRESHOLD_GRID = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01];
/** Rule weights in the transformer path tried when tuning; 0 = the transformer alone. */
const RULE_WEIGHT_GRID = [0, 0.2, 0.4];
const BATCH = 64;
const DECISION =
  "Binary decisions: rules positive iff score > 0; VADER iff compound > 0; transformer iff P(positive) − P(negative) > 0; " +
  "hybrid = rules when they are sure and their confidence >= threshold, else ruleWeight · rules + (1 − ruleWeight) · transformer; " +
  "fallbackRate = share routed to the transformer.";

interface Scored {
  file: string;
  label: 0 | 1;
  rules: SentimentScore;
  vader: number;
  transformer: number;
}

function metricsFor(rows: Scored[], policy: HybridPolicy) {
  const acc = { vader: new BinaryMetricsAccumulator(), rules: new BinaryMetricsAccumulator(), transformer: new BinaryMetricsAccumulator(), hybrid: new BinaryMetricsAccumulator() };
  let fallbacks = 0;
  for (const r of rows) {
    acc.vader.add(r.label, r.vader > 0 ? 1 : 0, Math.abs(r.vader) < 0.05);
    acc.rules.add(r.label, r.rules.score > 0 ? 1 : 0, r.rules.label === "neutral");
    acc.transformer.add(r.label, r.transformer > 0 ? 1 : 0, false);
    const hybrid = hybridScore(r.rules, r.transformer, policy);
    if (hybrid.method === "transformer") fallbacks++;
    acc.hybrid.add(r.label, hybrid.score > 0 ? 1 : 0, false);
  }
  const brief = (m: BinaryMetrics) => ({ n: m.n, accuracy: round(m.accuracy), macroF1: round(m.macroF1) });
  return {
    vader: brief(acc.vader.result()),
    rules: brief(acc.rules.result()),
    transformer: brief(acc.transformer.result()),
    hybrid: { ...brief(acc.hybrid.result()), ...policy, fallbackRate: round(rows.length === 0 ? 0 : fallbacks / rows.length) },
  };
}

const round = (x: number): number => Math.round(x * 10_000) / 10_000;

function sweep(rows: Scored[]) {
  return RULE_WEIGHT_GRID.flatMap((ruleWeight) =>
    THRESHOLD_GRID.map((threshold) => {
      const m = metricsFor(rows, { threshold, ruleWeight }).hybrid;
      return { threshold, ruleWeight, accuracy: m.accuracy, macroF1: m.macroF1, fallbackRate: m.fallbackRate };
    }),
  );
}

async function score(rows: (LabeledRow & { file: string })[], scorer: RuleScorer, classifier: TransformerClassifier): Promise<Scored[]> {
  const bar = new SingleBar({ format: "scoring [{bar}] {value}/{total} texts", stream: process.stderr }, Presets.shades_classic);
  bar.start(rows.length, 0);
  const transformer = new Float64Array(rows.length);
  // Length-sorted batches pad less.
  const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.text.length - rows[b]!.text.length);
  for (let start = 0; start < order.length; start += BATCH) {
    const batch = order.slice(start, start + BATCH);
    const predictions = await classifier.predict(batch.map((i) => rows[i]!.text));
    for (const [j, i] of batch.entries()) transformer[i] = predictions[j]!.sentiment;
    bar.increment(batch.length);
  }
  bar.stop();
  return rows.map((r, i) => ({
    file: r.file,
    label: r.label,
    rules: scorer.score(r.text),
    vader: SentimentIntensityAnalyzer.polarity_scores(r.text).compound,
    transformer: transformer[i]!,
  }));
}

async function main(): Promise<void> {
  const options = new Command()
    .name("eval-hybrid")
    .description(`Rules vs VADER vs transformer vs hybrid on labeled TSV files (text<TAB>0|1). ${DECISION}`)
    .requiredOption("--model <dir>", "Hugging Face-layout ONNX classifier directory (train-text output or an import)")
    .option("--data <file...>", "labeled TSV files (default: the three UCI sentiment files)", DEFAULT_DATA)
    .option("--split <split.json>", "split.json written by train-text: evaluate only its held-out lines of the --data file")
    .option("--threshold <t|auto>", "hybrid confidence threshold, or auto: tune it and --rule-weight on the split's validation lines (needs --split)", "0")
    .option("--rule-weight <w>", "weight of the rule score in the transformer path (0..1)", "0")
    .parse()
    .opts<{ model: string; data: string[]; split?: string; threshold: string; ruleWeight: string }>();

  const scorer = RuleScorer.load();
  const classifier = await TransformerClassifier.load(options.model);
  const rows: (LabeledRow & { file: string })[] = [];
  for (const file of options.data) {
    const parsed = readLabeledTsv(file);
    for (const bad of parsed.bad) process.stderr.write(`${bad.file}:${bad.line}: skipped bad row: ${bad.reason}\n`);
    rows.push(...parsed.rows.map((r) => ({ ...r, file })));
  }
  const report: Record<string, unknown> = { decision: DECISION, model: options.model, ruleSetVersion: scorer.ruleSetVersion, maxLength: classifier.maxLength };
  const policy: HybridPolicy = { threshold: Number(options.threshold), ruleWeight: Number(options.ruleWeight) };
  let evaluated = rows;
  if (options.split) {
    if (options.data.length !== 1) throw new Error("--split selects lines of one file: pass exactly one --data file");
    const split = JSON.parse(readFileSync(options.split, "utf8")) as { validationLines: number[]; testLines: number[] };
    const pick = (lines: number[]) => {
      const wanted = new Set(lines);
      const picked = rows.filter((r) => wanted.has(r.line));
      if (picked.length !== wanted.size) throw new Error(`${options.split}: ${wanted.size - picked.length} of its lines are not labeled rows of ${options.data[0]}`);
      return picked;
    };
    evaluated = pick(split.testLines);
    if (options.threshold === "auto") {
      const validation = await score(pick(split.validationLines), scorer, classifier);
      const table = sweep(validation);
      const best = table.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
      Object.assign(policy, { threshold: best.threshold, ruleWeight: best.ruleWeight });
      report.tuning = { on: "validation lines of the split", chosen: policy, validation: metricsFor(validation, policy), sweep: table };
    }
    report.rows = "test lines of the split (never trained on)";
  } else if (options.threshold === "auto") {
    throw new Error("--threshold auto tunes on the split's validation lines: pass --split too, or a number");
  }
  if (!Number.isFinite(policy.threshold) || policy.threshold < 0) throw new Error(`--threshold must be a number >= 0 or auto, got ${options.threshold}`);
  if (!(policy.ruleWeight >= 0 && policy.ruleWeight <= 1)) throw new Error(`--rule-weight must be in 0..1, got ${options.ruleWeight}`);

  const scored = await score(evaluated, scorer, classifier);
  await classifier.close();
  report.files = options.data.map((file) => ({ file, ...metricsFor(scored.filter((s) => s.file === file), policy) }));
  report.overall = metricsFor(scored, policy);
  report.sweep = sweep(scored);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

// npm runs workspace scripts inside services/sentiment; relative paths on the command line mean the caller's directory.
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

main().catch((error: unknown) => {
  process.stderr.write(`eval-hybrid: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
