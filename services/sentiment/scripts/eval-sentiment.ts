#!/usr/bin/env -S npx tsx
import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Presets, SingleBar } from "cli-progress";
import { Command, Option } from "commander";
import { glob, isDynamicPattern } from "tinyglobby";
import { SentimentIntensityAnalyzer } from "vader-sentiment";
import { PAGE_NAMES, type PageName, RuleScorer } from "../src/scoring/index.js";
import { BinaryMetricsAccumulator } from "./binary-metrics.js";
import { type BadRow, type LabeledTsv, readLabeledTsv } from "./labeled-tsv.js";

// The shared data folder sits beside the repository clone (../shared from the repository root).
const DEFAULT_DATA = fileURLToPath(new URL("../../../../shared/data/uci-sentiment/*_labelled.txt", import.meta.url));
// VADER's own neutral band, used to count how many texts plain VADER calls neutral.
const VADER_NEUTRAL = 0.05;
const BAD_ROWS_LISTED = 20;
// A file with no usable rows is summarised by its first few bad rows, not by one line per row.
const SUMMARY_ROWS = 5;
const DECISION =
  "Both methods: positive iff score > 0 (rules: SentimentScore.score; vader: compound). A score of exactly 0 " +
  "(no evidence, or evidence that cancels) counts as negative; the neutral label plays no part in the binary " +
  "decision and is only counted in predictedNeutral (rules: label 'neutral', |score| < neutralThreshold; " +
  "vader: |compound| < 0.05).";

// `npm run -w` starts scripts in the package folder; relative paths mean the folder npm was called from.
const CALLER_DIR = process.env.INIT_CWD ?? process.cwd();
const fromCaller = (path: string): string => resolve(CALLER_DIR, path);

async function expand(patterns: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const given of patterns) {
    const pattern = fromCaller(given);
    if (!isDynamicPattern(pattern)) {
      if (!existsSync(pattern)) throw new Error(`--data ${pattern}: no such file`);
      files.push(resolve(pattern));
      continue;
    }
    const matches = await glob(pattern, { absolute: true, onlyFiles: true, expandDirectories: false });
    if (matches.length === 0) throw new Error(`--data ${pattern}: the pattern matched no file`);
    files.push(...matches.sort());
  }
  return [...new Set(files)];
}

/** "file: no usable rows (N bad): the first lines and why", so a wrong file or format is seen at once. */
function describeUnusable(dataset: LabeledTsv): string {
  const first = dataset.bad
    .slice(0, SUMMARY_ROWS)
    .map((bad) => `  line ${bad.line}: ${bad.reason}: ${JSON.stringify(bad.excerpt)}`)
    .join("\n");
  const more = dataset.bad.length > SUMMARY_ROWS ? `\n  … and ${dataset.bad.length - SUMMARY_ROWS} more bad rows` : "";
  return (
    `${dataset.file}: no usable rows (${dataset.bad.length} bad rows; expected text<TAB>0|1 per line, optionally a ` +
    `header naming text and label columns). First rows:\n${first}${more}`
  );
}

function reportBadRows(dataset: LabeledTsv): void {
  for (const bad of dataset.bad.slice(0, BAD_ROWS_LISTED)) {
    process.stderr.write(`${bad.file}:${bad.line}: skipped bad row: ${bad.reason}\n`);
  }
  const rest = dataset.bad.length - BAD_ROWS_LISTED;
  if (rest > 0) process.stderr.write(`${dataset.file}: … and ${rest} more bad rows (all counted in the report)\n`);
}

async function main(): Promise<void> {
  const program = new Command()
    .name("eval-sentiment")
    .description("Accuracy and macro-F1 of the rule scorer and of plain VADER on labeled TSV files (text<TAB>0|1).")
    .option("--data <path...>", "labeled TSV files or globs (text<TAB>0|1, optional header)", [DEFAULT_DATA])
    .option("--out <file>", "write the JSON report to this file instead of stdout")
    .option("--rules <path>", "rule set JSON (default: the scorer's bundled page-rules file)")
    .addOption(
      new Option("--page <page>", "score every text as feedback from this funnel page (default: the file's page column, if any)").choices([
        ...PAGE_NAMES,
      ]),
    )
    .option("--limit <n>", "use at most this many rows per file (from the top)", (value) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`--limit must be a positive integer, got ${value}`);
      return n;
    })
    .parse();
  const options = program.opts<{ data: string[]; out?: string; rules?: string; page?: PageName; limit?: number }>();

  const scorer = RuleScorer.load(options.rules ? { rulesPath: options.rules } : {});
  const files = await expand(options.data);
  const datasets: LabeledTsv[] = files.map(readLabeledTsv);
  const badRows: BadRow[] = datasets.flatMap((dataset) => dataset.bad);
  const unusable = datasets.filter((dataset) => dataset.rows.length === 0);
  if (unusable.length > 0) throw new Error(unusable.map(describeUnusable).join("\n"));
  for (const dataset of datasets) reportBadRows(dataset);

  const total = datasets.reduce((sum, dataset) => sum + Math.min(dataset.rows.length, options.limit ?? Infinity), 0);
  const bar = new SingleBar({ format: "scoring [{bar}] {value}/{total} texts", stream: process.stderr }, Presets.shades_classic);
  bar.start(total, 0);
  const accumulators = () => ({
    rules: new BinaryMetricsAccumulator(),
    rulesSure: new BinaryMetricsAccumulator(),
    rulesUnsure: new BinaryMetricsAccumulator(),
    vader: new BinaryMetricsAccumulator(),
  });
  const overall = accumulators();
  const perFile = datasets.map((dataset) => {
    const metrics = accumulators();
    const byCategory = new Map<string, BinaryMetricsAccumulator>();
    const unsupported: { line: number; language: string }[] = [];
    const rows = options.limit ? dataset.rows.slice(0, options.limit) : dataset.rows;
    for (const row of rows) {
      const ours = scorer.score(row.text, options.page ?? row.page);
      const ourPrediction = ours.score > 0 ? 1 : 0;
      if (ours.unsupportedLanguage) unsupported.push({ line: row.line, language: ours.language });
      metrics.rules.add(row.label, ourPrediction, ours.label === "neutral");
      if (row.category !== undefined) {
        const category = byCategory.get(row.category) ?? new BinaryMetricsAccumulator();
        category.add(row.label, ourPrediction, ours.label === "neutral");
        byCategory.set(row.category, category);
      }
      (ours.unsure ? metrics.rulesUnsure : metrics.rulesSure).add(row.label, ourPrediction, ours.label === "neutral");
      const compound = SentimentIntensityAnalyzer.polarity_scores(row.text).compound;
      metrics.vader.add(row.label, compound > 0 ? 1 : 0, Math.abs(compound) < VADER_NEUTRAL);
      bar.increment();
    }
    for (const key of Object.keys(metrics) as (keyof typeof metrics)[]) overall[key].merge(metrics[key]);
    return {
      file: dataset.file,
      headerDetected: dataset.hasHeader,
      rowsScored: rows.length,
      // Rows the rules declined as another language (neutral, confidence 0); on English data, false flags.
      unsupportedLanguage: { count: unsupported.length, rows: unsupported.slice(0, BAD_ROWS_LISTED) },
      badRows: dataset.bad.length,
      badRowsListed: dataset.bad.slice(0, BAD_ROWS_LISTED).map(({ line, reason }) => ({ line, reason })),
      rules: metrics.rules.result(),
      rulesBySureness: { sure: metrics.rulesSure.result(), unsure: metrics.rulesUnsure.result() },
      vader: metrics.vader.result(),
      // Rules only, per value of the file's category column (absent when it has none).
      ...(byCategory.size > 0 ? { rulesByCategory: Object.fromEntries([...byCategory].map(([name, m]) => [name, m.result()])) } : {}),
    };
  });
  bar.stop();

  const rules = overall.rules.result();
  const vader = overall.vader.result();
  const report = {
    decision: DECISION,
    ruleSetVersion: scorer.ruleSetVersion,
    page: options.page ?? null,
    files: perFile,
    overall: {
      rowsScored: rules.n,
      unsupportedLanguage: perFile.reduce((sum, file) => sum + file.unsupportedLanguage.count, 0),
      badRows: badRows.length,
      rules,
      // How well the scorer's own "unsure" flag separates texts the transformer fallback should take.
      rulesBySureness: { sure: overall.rulesSure.result(), unsure: overall.rulesUnsure.result() },
      vader,
      rulesMinusVader: { accuracy: rules.accuracy - vader.accuracy, macroF1: rules.macroF1 - vader.macroF1 },
    },
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  // npm prints its script banner on stdout unless run with -s; --out gives a clean file either way.
  if (options.out) {
    writeFileSync(fromCaller(options.out), json);
    process.stderr.write(`eval-sentiment: report written to ${options.out}\n`);
  } else {
    process.stdout.write(json);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`eval-sentiment: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
