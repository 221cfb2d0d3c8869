#!/usr/bin/env -S npx tsx
// Per-text latency of each sentiment path on the same texts: rules, the transformer at batch sizes 1, 16
// and 64, and the hybrid (rules, then one transformer batch for the texts the model's hybrid policy sends to
// it, then the policy's decision). JSON out.
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { readLabeledTsv } from "../scripts/labeled-tsv.js";
import { RuleScorer } from "../src/scoring/index.js";
import { DEFAULT_HYBRID_POLICY, decideHybrid, type HybridPolicy, needsTransformer, policyForRules } from "../src/transformer/hybrid-policy.js";
import { SentimentTransformer } from "../src/transformer/sentiment-transformer.js";

const FIXTURE = fileURLToPath(new URL("../src/transformer/testdata/tiny-sentiment", import.meta.url));
const UCI = fileURLToPath(new URL("../../../../shared/data/uci-sentiment/yelp_labelled.txt", import.meta.url));
const BATCH_SIZES = [1, 16, 64];

/** Shopper-style sentences, used when the UCI file is not beside the repository. */
function builtInTexts(): string[] {
  const subjects = ["the checkout", "this phone case", "the search page", "delivery", "the confirmation email", "the site", "support", "the refund"];
  const verdicts = ["was not good at all", "is GREAT!!!", "works but the battery is slow", "was charged twice", "felt secure and quick", "is okay I guess", "never arrived", "made my day"];
  return subjects.flatMap((s) => verdicts.map((v) => `Honestly, ${s} ${v}.`));
}

function texts(count: number, files: string[]): string[] {
  let pool: string[];
  try {
    // The labeled-file reader the evaluations use: header and extra columns (page, category) handled alike.
    pool = files.flatMap((file) => readLabeledTsv(file).rows.map((r) => r.text));
  } catch {
    pool = builtInTexts();
  }
  return Array.from({ length: count }, (_, i) => pool[i % pool.length]!);
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

interface Path {
  name: string;
  batch: number;
  run: (texts: string[]) => Promise<unknown> | unknown;
}

/**
 * Per-text wall time of each path, median over rounds. The paths take turns within every round, so load
 * from other processes on a shared machine hits them alike; round 0 is a warm-up (caches, onnxruntime's
 * allocator) and not counted.
 */
async function timePaths(all: string[], rounds: number, paths: Path[]): Promise<Record<string, number>> {
  const samples = new Map<string, number[]>(paths.map((p) => [p.name, []]));
  for (let r = 0; r <= rounds; r++) {
    for (const path of paths) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < all.length; i += path.batch) await path.run(all.slice(i, i + path.batch));
      if (r > 0) samples.get(path.name)!.push(Number(process.hrtime.bigint() - started) / 1000 / all.length);
    }
  }
  return Object.fromEntries([...samples].map(([name, us]) => [name, Math.round(median(us) * 10) / 10]));
}

async function main(): Promise<void> {
  const options = new Command()
    .name("transformer-paths-bench")
    .description("Per-text latency of the rule, transformer (batch 1/16/64) and hybrid paths; prints JSON")
    .option("--model <dir>", "Hugging Face-layout ONNX classifier (default: the tiny test fixture)", FIXTURE)
    .option("--data <file...>", "labeled TSV files to take texts from (default: UCI yelp beside the repository, else built-in sentences); shop text: scripts/testdata/*.tsv", [UCI])
    .option("--texts <n>", "texts per round", (v) => Number(v), 256)
    .option("--rounds <n>", "measured rounds", (v) => Number(v), 5)
    .parse()
    .opts<{ model: string; data: string[]; texts: number; rounds: number }>();
  const scorer = RuleScorer.load();
  const transformer = await SentimentTransformer.load(options.model);
  const classifier = transformer.classifier;
  // The policy the service would apply: the one stored with the model, if fitted for these rules.
  const policy = policyForRules(transformer.fittedPolicy, scorer.ruleSetVersion);
  const all = texts(options.texts, options.data);
  const rate = (p: HybridPolicy) => Math.round((all.filter((t) => needsTransformer(scorer.score(t), p)).length / all.length) * 1000) / 1000;
  const hybridPath = (name: string, p: HybridPolicy): Path => ({
    name,
    batch: 64,
    run: async (batch) => {
      const scored = batch.map((t) => scorer.score(t));
      const routed = scored.flatMap((s, i) => (needsTransformer(s, p) ? [i] : []));
      const predictions = routed.length > 0 ? await classifier.predict(routed.map((i) => batch[i]!)) : [];
      const margins = new Map(routed.map((i, j) => [i, predictions[j]!.margin]));
      return scored.map((s, i) => decideHybrid(s, margins.get(i), p));
    },
  });
  const us = await timePaths(all, options.rounds, [
    { name: "rules", batch: 1, run: (batch) => batch.map((t) => scorer.score(t)) },
    ...BATCH_SIZES.map((size) => ({ name: `transformer.batch${size}`, batch: size, run: (batch: string[]) => classifier.predict(batch) })),
    // The model's own policy, and the default one (what a version without hybrid-policy.json gets) for the cost comparison.
    hybridPath("hybrid", policy),
    hybridPath("hybrid.default", DEFAULT_HYBRID_POLICY),
  ]);
  await transformer.close();
  const result = {
    benchmark: "sentiment paths: per-text latency",
    model: options.model,
    maxLength: classifier.maxLength,
    texts: all.length,
    cpus: (await import("node:os")).cpus().length,
    rounds: options.rounds,
    usPerText: {
      rules: us.rules,
      transformer: Object.fromEntries(BATCH_SIZES.map((size) => [`batch${size}`, us[`transformer.batch${size}`]])),
      hybrid: us.hybrid,
      hybridDefault: us["hybrid.default"],
    },
    hybrid: { batch: 64, policy: policy.version, transformerRate: rate(policy), defaultPolicyTransformerRate: rate(DEFAULT_HYBRID_POLICY) },
    transformerBatch64VsBatch1: Math.round((us["transformer.batch1"]! / us["transformer.batch64"]!) * 100) / 100,
    hybridVsRules: Math.round((us.hybrid! / us.rules!) * 100) / 100,
    hybridVsDefaultPolicy: Math.round((us.hybrid! / us["hybrid.default"]!) * 100) / 100,
    note: "median over rounds of (path wall time / texts), paths interleaved within each round; compare ratios within one run",
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`transformer-paths-bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
