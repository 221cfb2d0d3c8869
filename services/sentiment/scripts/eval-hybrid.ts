#!/usr/bin/env -S npx tsx
// Accuracy and macro-F1 of plain VADER, the rule scorer, the transformer and the hybrid on labeled files, plus
// the share of texts that hit the transformer (the cost). The hybrid is decided by the same functions the
// service runs (src/transformer/hybrid-policy.ts) with the policy stored with the model version; `--fit`
// fits that policy on validation rows and writes it into the model directory.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readModelDirectory, writeModelDirectoryManifest } from "@funnel/registry";
import { Presets, SingleBar } from "cli-progress";
import { Command } from "commander";
import { SentimentIntensityAnalyzer } from "vader-sentiment";
import { RuleScorer, type SentimentScore } from "../src/scoring/index.js";
import {
  DEFAULT_HYBRID_POLICY,
  decideHybrid,
  HYBRID_POLICY_FILE,
  needsTransformer,
  parseHybridPolicy,
  policyForRules,
  readHybridPolicy,
  type HybridMethod,
  type HybridPolicy,
} from "../src/transformer/hybrid-policy.js";
import { TransformerClassifier } from "../src/transformer/transformer-classifier.js";
import { BinaryMetricsAccumulator, type BinaryMetrics } from "./binary-metrics.js";
import { fitHybridPolicy } from "./fit-hybrid-policy.js";
import { readLabeledTsv, type LabeledRow } from "./labeled-tsv.js";

const UCI = ["amazon_cells", "imdb", "yelp"].map((name) => fileURLToPath(new URL(`../../../../shared/data/uci-sentiment/${name}_labelled.txt`, import.meta.url)));
/** Guard rows for --fit: every third line of each guard file; the other two thirds stay a fair test. */
const GUARD_EVERY = 3;
const BATCH = 64;
const DECISION =
  "Binary decisions: rules positive iff score > 0; VADER iff compound > 0; transformer iff its logit margin > 0; " +
  "hybrid iff the score of decideHybrid (src/transformer/hybrid-policy.ts, the service's own code) > 0. " +
  "transformerRate = share of texts the policy runs the transformer for (the cost); decidedBy = share per method. " +
  "hybridDefault = the policy a version without hybrid-policy.json gets (rules unless unsure, then the transformer alone).";

interface Scored {
  file: string;
  line: number;
  label: 0 | 1;
  rules: SentimentScore;
  vader: number;
  margin: number;
}

type Row = LabeledRow & { file: string };

const round = (x: number): number => Math.round(x * 10_000) / 10_000;
const brief = (m: BinaryMetrics) => ({ n: m.n, accuracy: round(m.accuracy), macroF1: round(m.macroF1) });

function hybridMetrics(rows: Scored[], policy: HybridPolicy) {
  const acc = new BinaryMetricsAccumulator();
  const decided: Record<HybridMethod, number> = { rules: 0, transformer: 0, combined: 0 };
  let ran = 0;
  for (const r of rows) {
    const runs = needsTransformer(r.rules, policy);
    if (runs) ran++;
    const decision = decideHybrid(r.rules, runs ? r.margin : undefined, policy);
    decided[decision.method]++;
    acc.add(r.label, decision.score > 0 ? 1 : 0, false);
  }
  const share = (k: number) => round(rows.length === 0 ? 0 : k / rows.length);
  return {
    ...brief(acc.result()),
    policy: policy.version,
    transformerRate: share(ran),
    decidedBy: { rules: share(decided.rules), transformer: share(decided.transformer), combined: share(decided.combined) },
  };
}

function metricsFor(rows: Scored[], policy: HybridPolicy) {
  const vader = new BinaryMetricsAccumulator();
  const rules = new BinaryMetricsAccumulator();
  const transformer = new BinaryMetricsAccumulator();
  for (const r of rows) {
    vader.add(r.label, r.vader > 0 ? 1 : 0, Math.abs(r.vader) < 0.05);
    rules.add(r.label, r.rules.score > 0 ? 1 : 0, r.rules.label === "neutral");
    transformer.add(r.label, r.margin > 0 ? 1 : 0, false);
  }
  return {
    vader: brief(vader.result()),
    rules: brief(rules.result()),
    transformer: brief(transformer.result()),
    hybrid: hybridMetrics(rows, policy),
    hybridDefault: hybridMetrics(rows, DEFAULT_HYBRID_POLICY),
  };
}

async function score(rows: Row[], scorer: RuleScorer, classifier: TransformerClassifier): Promise<Scored[]> {
  const bar = new SingleBar({ format: "scoring [{bar}] {value}/{total} texts", stream: process.stderr }, Presets.shades_classic);
  bar.start(rows.length, 0);
  const margins = new Float64Array(rows.length);
  // Length-sorted batches pad less.
  const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.text.length - rows[b]!.text.length);
  for (let start = 0; start < order.length; start += BATCH) {
    const batch = order.slice(start, start + BATCH);
    const predictions = await classifier.predict(batch.map((i) => rows[i]!.text));
    for (const [j, i] of batch.entries()) margins[i] = predictions[j]!.margin;
    bar.increment(batch.length);
  }
  bar.stop();
  return rows.map((r, i) => ({
    file: r.file,
    line: r.line,
    label: r.label,
    // The page column (the e-commerce sets have one) selects page rules, as a request's page does.
    rules: scorer.score(r.text, r.page),
    vader: SentimentIntensityAnalyzer.polarity_scores(r.text).compound,
    margin: margins[i]!,
  }));
}

function readRows(files: string[]): Row[] {
  return files.flatMap((file) => {
    const parsed = readLabeledTsv(file);
    for (const bad of parsed.bad) process.stderr.write(`${bad.file}:${bad.line}: skipped bad row: ${bad.reason}\n`);
    if (parsed.rows.length === 0) throw new Error(`${file}: no labeled rows (expected text<TAB>0|1 per line)`);
    return parsed.rows.map((r) => ({ ...r, file }));
  });
}

function byFile(scored: Scored[], files: string[], policy: HybridPolicy) {
  return files.map((file) => ({ file, ...metricsFor(scored.filter((s) => s.file === file), policy) }));
}

async function main(): Promise<void> {
  const options = new Command()
    .name("eval-hybrid")
    .description(`Rules vs VADER vs transformer vs hybrid on labeled TSV files (text<TAB>0|1, optional page column). ${DECISION}`)
    .requiredOption("--model <dir>", "Hugging Face-layout ONNX classifier directory (train-text output, an import, or a registry download)")
    .option("--data <file...>", "labeled TSV files (default: the three UCI sentiment files)", UCI)
    .option("--split <split.json>", "split.json written by train-text: evaluate only its test lines of the one --data file")
    .option("--policy <file>", `hybrid policy to evaluate (default: the model directory's ${HYBRID_POLICY_FILE}, else the default policy)`)
    .option("--fit", `fit the policy on the split's validation lines and the guard files' validation third, write it to <model>/${HYBRID_POLICY_FILE} (and rewrite manifest.json when there is one), then evaluate it`)
    .option("--guard <file...>", `--fit: files of other domains the override margin must hold on (every ${GUARD_EVERY}rd line, line % ${GUARD_EVERY} = 0)`, UCI)
    .option("--policy-version <name>", "--fit: the version name written into the policy", "hybrid.v1")
    .option("--keep-confidence <c>", "--fit: confident rules at or above this confidence keep their texts without the transformer (the cost knob; default: none)")
    .option("--out <file>", "write the JSON report here instead of stdout")
    .parse()
    .opts<{ model: string; data: string[]; split?: string; policy?: string; fit?: boolean; guard: string[]; policyVersion: string; keepConfidence?: string; out?: string }>();

  const scorer = RuleScorer.load();
  const classifier = await TransformerClassifier.load(options.model);
  const rows = readRows(options.data);
  const report: Record<string, unknown> = { decision: DECISION, model: options.model, ruleSetVersion: scorer.ruleSetVersion, maxLength: classifier.maxLength };
  let evaluated = rows;
  let validation: Row[] | undefined;
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
    validation = pick(split.validationLines);
    report.rows = "test lines of the split (never trained on, never used for fitting)";
  }

  let policy: HybridPolicy;
  if (options.fit) {
    if (!validation) throw new Error("--fit fits on the split's validation lines: pass --split and its --data file");
    const guardRows = readRows(options.guard).filter((r) => r.line % GUARD_EVERY === 0);
    const [fitScored, guardScored] = [await score(validation, scorer, classifier), await score(guardRows, scorer, classifier)];
    const guards = options.guard.map((file) => guardScored.filter((s) => s.file === file));
    const keep = options.keepConfidence === undefined ? null : Number(options.keepConfidence);
    if (keep !== null && !(keep >= 0 && keep <= 1)) throw new Error(`--keep-confidence must be in 0..1, got ${options.keepConfidence}`);
    const fitted = fitHybridPolicy({ version: options.policyVersion, ruleSetVersion: scorer.ruleSetVersion, validation: fitScored, guards, phraseRulesDecide: true, rulesKeepConfidence: keep });
    policy = {
      ...fitted.policy,
      fitted: {
        by: "npm run eval:hybrid -- --fit",
        at: new Date().toISOString(),
        combinationOn: { file: path.basename(options.data[0]!), lines: "validation lines of the split", rows: fitted.combinationRows },
        overrideMarginOn: { files: [options.data[0]!, ...options.guard].map((f) => path.basename(f)), guardLines: `line % ${GUARD_EVERY} = 0` },
        overrideTable: fitted.overrideTable,
        validation: { [path.basename(options.data[0]!)]: metricsFor(fitScored, fitted.policy), ...Object.fromEntries(options.guard.map((f, i) => [path.basename(f), metricsFor(guards[i]!, fitted.policy)])) },
      },
    };
    const target = path.join(options.model, HYBRID_POLICY_FILE);
    writeFileSync(target, `${JSON.stringify(policy, null, 2)}\n`);
    // The policy is part of the model version: a directory with a manifest gets it rewritten so it registers as is.
    if (existsSync(path.join(options.model, "manifest.json"))) {
      const manifest = await readModelDirectory(options.model);
      await writeModelDirectoryManifest(options.model, manifest);
    }
    process.stderr.write(`eval-hybrid: wrote ${target} (override margin ${policy.overrideMargin}, combination ${JSON.stringify(policy.combination)})\n`);
    report.fitted = policy.fitted;
  } else if (options.policy) {
    policy = parseHybridPolicy(JSON.parse(readFileSync(options.policy, "utf8")), options.policy);
  } else {
    policy = policyForRules(await readHybridPolicy(options.model), scorer.ruleSetVersion);
  }
  if (policy.ruleSetVersion !== scorer.ruleSetVersion && policy !== DEFAULT_HYBRID_POLICY) {
    throw new Error(`policy ${policy.version} was fitted for rule set ${policy.ruleSetVersion}, the scorer runs ${scorer.ruleSetVersion}: refit it with --fit`);
  }
  report.policy = { ...policy, fitted: undefined };

  const scored = await score(evaluated, scorer, classifier);
  await classifier.close();
  report.files = byFile(scored, options.data, policy);
  report.overall = metricsFor(scored, policy);
  // Files also used as fitting guards: their other two thirds, never seen by the fit.
  const guarded = options.data.filter((f) => options.guard.includes(f) && (options.fit || policy.fitted));
  if (guarded.length > 0) {
    report.guardFilesUnseenLines = byFile(scored.filter((s) => s.line % GUARD_EVERY !== 0), guarded, policy);
  }
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (options.out) writeFileSync(options.out, json);
  else process.stdout.write(json);
}

// npm runs workspace scripts inside services/sentiment; relative paths on the command line mean the caller's directory.
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

main().catch((error: unknown) => {
  process.stderr.write(`eval-hybrid: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
