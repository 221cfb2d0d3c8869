#!/usr/bin/env -S npx tsx
import { Presets, SingleBar } from "cli-progress";
import { Command } from "commander";
import { fileURLToPath } from "node:url";
import { glob } from "tinyglobby";
import { SentimentIntensityAnalyzer } from "vader-sentiment";
import { PAGE_NAMES, RuleScorer, type PageName } from "../src/scoring/index.js";
import { readLabeledTsv } from "../scripts/labeled-tsv.js";

// The shared data folder sits beside the repository clone (../shared from the repository root).
const DEFAULT_DATA = fileURLToPath(new URL("../../../../shared/data/uci-sentiment/*_labelled.txt", import.meta.url));

const positiveInt = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${value}`);
  return n;
};

/** Shopper-style sentences built from parts, so the benchmark runs where no data files are present. */
function builtInTexts(): string[] {
  const openers = ["Honestly", "Well", "Wow", "Ugh", "So", "Overall"];
  const subjects = ["the checkout", "this phone case", "the search page", "delivery", "the confirmation email", "the site"];
  const verdicts = [
    "was not good at all",
    "is GREAT!!!",
    "works great but the battery is slow",
    "was charged twice and my card was declined",
    "is sooooo gooood 😍",
    "never got confirmation :(",
    "couldn't find anything",
    "is a total waste of money",
    "felt secure and quick",
    "is okay I guess",
  ];
  const texts: string[] = [];
  for (const opener of openers) for (const subject of subjects) for (const verdict of verdicts) texts.push(`${opener}, ${subject} ${verdict}.`);
  return texts;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  const program = new Command()
    .name("rule-scorer-bench")
    .description("Cost per text of the rule scorer versus plain vader-sentiment on the same texts; prints JSON.")
    .option("--data <path...>", "labeled TSV files or globs to take texts from", [DEFAULT_DATA])
    .option("--rounds <n>", "measured rounds", positiveInt("--rounds"), 7)
    .option("--warmup <n>", "unmeasured warm-up rounds", positiveInt("--warmup"), 2)
    .parse();
  const options = program.opts<{ data: string[]; rounds: number; warmup: number }>();

  const files = (await glob(options.data, { absolute: true, onlyFiles: true, expandDirectories: false })).sort();
  if (files.length === 0 && program.getOptionValueSource("data") !== "default") {
    throw new Error(`--data ${options.data.join(" ")}: matched no file`);
  }
  const fromFiles = files.flatMap((file) => {
    const parsed = readLabeledTsv(file);
    for (const bad of parsed.bad) process.stderr.write(`${bad.file}:${bad.line}: skipped bad row: ${bad.reason}\n`);
    return parsed.rows.map((row) => row.text);
  });
  const texts = fromFiles.length > 0 ? fromFiles : builtInTexts();
  const source = fromFiles.length > 0 ? files : "built-in generated sentences (no data file found)";
  // Pages rotate so page-rule lookups are part of the measured cost, as in the service.
  const items = texts.map((text, index) => ({ text, page: PAGE_NAMES[index % PAGE_NAMES.length] as PageName }));

  const loadStart = process.hrtime.bigint();
  const scorer = RuleScorer.load();
  const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
  let sink = 0;
  const runRules = (): void => {
    for (const item of items) sink += scorer.score(item.text, item.page).score;
  };
  const runVader = (): void => {
    for (const item of items) sink += SentimentIntensityAnalyzer.polarity_scores(item.text).compound;
  };
  const timeNs = (work: () => void): number => {
    const start = process.hrtime.bigint();
    work();
    return Number(process.hrtime.bigint() - start);
  };

  const bar = new SingleBar({ format: "benchmark [{bar}] {value}/{total} rounds", stream: process.stderr }, Presets.shades_classic);
  bar.start(options.warmup + options.rounds, 0);
  // The first pass fills the spelling corrector's cache: what a fresh process pays on unseen words.
  const rulesColdNsPerText = timeNs(runRules) / items.length;
  for (let round = 0; round < options.warmup; round++) {
    runRules();
    runVader();
    bar.increment();
  }
  const rules: number[] = [];
  const vader: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    // Alternate which method goes first so neither always runs on a warmer cache.
    if (round % 2 === 0) {
      rules.push(timeNs(runRules) / items.length);
      vader.push(timeNs(runVader) / items.length);
    } else {
      vader.push(timeNs(runVader) / items.length);
      rules.push(timeNs(runRules) / items.length);
    }
    bar.increment();
  }
  bar.stop();

  const rulesNsPerText = median(rules);
  const vaderNsPerText = median(vader);
  const report = {
    rulesNsPerText: Math.round(rulesNsPerText),
    rulesColdNsPerText: Math.round(rulesColdNsPerText),
    rulesLoadMs: Math.round(loadMs),
    vaderNsPerText: Math.round(vaderNsPerText),
    ratio: Number((rulesNsPerText / vaderNsPerText).toFixed(3)),
    statistic: "median over rounds of (round time / texts); cold = the first pass of a fresh scorer, before warm-up",
    texts: items.length,
    rounds: options.rounds,
    warmupRounds: options.warmup,
    rulesNsPerTextByRound: rules.map(Math.round),
    vaderNsPerTextByRound: vader.map(Math.round),
    source,
    ruleSetVersion: scorer.ruleSetVersion,
    node: process.version,
    checksum: Number(sink.toFixed(3)),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`rule-scorer-bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
