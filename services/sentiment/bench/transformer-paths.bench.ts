#!/usr/bin/env -S npx tsx
// Per-text latency of each sentiment path on the same texts: rules, the transformer at batch sizes 1, 16
// and 64, and the hybrid (rules, then one transformer batch for the texts the rules route to it). JSON out.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { RuleScorer } from "../src/scoring/index.js";
import { TransformerClassifier } from "../src/transformer/transformer-classifier.js";
import { useTransformer } from "../src/transformer/use-transformer.js";

const FIXTURE = fileURLToPath(new URL("../src/transformer/testdata/tiny-sentiment", import.meta.url));
const UCI = fileURLToPath(new URL("../../../../shared/data/uci-sentiment/yelp_labelled.txt", import.meta.url));
const BATCH_SIZES = [1, 16, 64];

/** Shopper-style sentences, used when the UCI file is not beside the repository. */
function builtInTexts(): string[] {
  const subjects = ["the checkout", "this phone case", "the search page", "delivery", "the confirmation email", "the site", "support", "the refund"];
  const verdicts = ["was not good at all", "is GREAT!!!", "works but the battery is slow", "was charged twice", "felt secure and quick", "is okay I guess", "never arrived", "made my day"];
  return subjects.flatMap((s) => verdicts.map((v) => `Honestly, ${s} ${v}.`));
}

function texts(count: number, file: string): string[] {
  let pool: string[];
  try {
    pool = readFileSync(file, "utf8").split("\n").map((l) => l.slice(0, l.lastIndexOf("\t")).trim()).filter((t) => t.length > 0);
  } catch {
    pool = builtInTexts();
  }
  return Array.from({ length: count }, (_, i) => pool[i % pool.length]!);
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timePerText(all: string[], rounds: number, run: (texts: string[]) => Promise<unknown> | unknown, batch: number): Promise<{ medianUsPerText: number; rounds: number }> {
  const perRound: number[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < all.length; i += batch) await run(all.slice(i, i + batch));
    const us = Number(process.hrtime.bigint() - started) / 1000 / all.length;
    if (r > 0) perRound.push(us); // round 0 warms up caches and onnxruntime's allocator
  }
  return { medianUsPerText: Math.round(median(perRound) * 10) / 10, rounds };
}

async function main(): Promise<void> {
  const options = new Command()
    .name("transformer-paths-bench")
    .description("Per-text latency of the rule, transformer (batch 1/16/64) and hybrid paths; prints JSON")
    .option("--model <dir>", "Hugging Face-layout ONNX classifier (default: the tiny test fixture)", FIXTURE)
    .option("--data <file>", "labeled TSV to take texts from (default: UCI yelp beside the repository, else built-in sentences)", UCI)
    .option("--texts <n>", "texts per round", (v) => Number(v), 256)
    .option("--rounds <n>", "measured rounds", (v) => Number(v), 5)
    .option("--threshold <t>", "hybrid confidence threshold", (v) => Number(v), 0)
    .parse()
    .opts<{ model: string; data: string; texts: number; rounds: number; threshold: number }>();
  const scorer = RuleScorer.load();
  const classifier = await TransformerClassifier.load(options.model);
  const all = texts(options.texts, options.data);
  const rules = await timePerText(all, options.rounds, (batch) => batch.map((t) => scorer.score(t)), 1);
  const transformer: Record<string, unknown> = {};
  for (const size of BATCH_SIZES) transformer[`batch${size}`] = await timePerText(all, options.rounds, (batch) => classifier.predict(batch), size);
  const fallbackShare = all.filter((t) => useTransformer(scorer.score(t), options.threshold)).length / all.length;
  const hybrid = await timePerText(
    all,
    options.rounds,
    async (batch) => {
      const scored = batch.map((t) => scorer.score(t));
      const routed = batch.filter((_, i) => useTransformer(scored[i]!, options.threshold));
      if (routed.length > 0) await classifier.predict(routed);
    },
    64,
  );
  await classifier.close();
  const result = {
    benchmark: "sentiment paths: per-text latency",
    model: options.model,
    maxLength: classifier.maxLength,
    texts: all.length,
    cpus: (await import("node:os")).cpus().length,
    rules,
    transformer,
    hybrid: { ...hybrid, batch: 64, threshold: options.threshold, fallbackShare: Math.round(fallbackShare * 1000) / 1000 },
    note: "median over rounds of (round wall time / texts); the machine is shared, so compare ratios within one run",
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`transformer-paths-bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
