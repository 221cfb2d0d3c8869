#!/usr/bin/env -S npx tsx
// Rules vs VADER vs transformer vs hybrid on labeled files, per held-out set, in the three-way view (a neutral
// answer is an abstention, never a negative), with Wilson intervals, paired comparisons and the share of texts
// the transformer runs for (the cost). The hybrid is decided by the same functions the service runs
// (src/transformer/hybrid-policy.ts) with the policy stored with the model version; `--fit` fits that policy on
// validation rows of every labeled source and writes it into the model directory.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readModelDirectory, writeModelDirectoryManifest } from "@funnel/registry";
import { Presets, SingleBar } from "cli-progress";
import { Command } from "commander";
import { SentimentIntensityAnalyzer } from "vader-sentiment";
import { RuleScorer, type SentimentScore } from "../src/scoring/index.js";
import {
  cellOf,
  DEFAULT_HYBRID_POLICY,
  decideHybrid,
  HYBRID_POLICY_FILE,
  type HybridMethod,
  type HybridPolicy,
  needsTransformer,
  parseHybridPolicy,
  policyForRules,
  readHybridPolicy,
} from "../src/transformer/hybrid-policy.js";
import { TransformerClassifier } from "../src/transformer/transformer-classifier.js";
import { fitHybridPolicy } from "./fit-hybrid-policy.js";
import { type LabeledRow, readLabeledTsv } from "./labeled-tsv.js";
import { type Answer, pairedComparison, ThreeWayAccumulator } from "./three-way-metrics.js";

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));
const UCI = ["amazon_cells", "imdb", "yelp"].map((name) => here(`../../../../shared/data/uci-sentiment/${name}_labelled.txt`));
/** Shop texts never trained on: evaluated whole next to a split's held-out sets. */
const SHOP_SETS = [here("./testdata/ecommerce-feedback-holdout.tsv"), here("./testdata/shop-feedback-mixed.tsv")];
/** Shop text the fit may learn from: every third line (line % 3 = 0); the other two thirds stay a fair test. */
const SHOP_GUARD = [here("./testdata/ecommerce-feedback.tsv")];
const GUARD_EVERY = 3;
const BATCH = 64;
const DECISION =
  "Three-way view: each method answers positive, negative or neutral; neutral is an abstention (counted as not right in " +
  "accuracy, as a miss of the text's class in macro-F1, never as negative). Rules: their label; VADER: compound ≥ 0.05 " +
  "positive, ≤ −0.05 negative, else neutral; transformer: sign of its logit margin (never neutral); hybrid: the label of " +
  "decideHybrid (src/transformer/hybrid-policy.ts, the service's own code). accuracyInterval: Wilson 95 %. " +
  "transformerRate = share of texts the policy runs the transformer for (the cost). hybridVs.*: texts only the hybrid " +
  "gets right / only the other method gets right, and the two-sided sign-test p.";

interface Scored {
  source: string;
  line: number;
  label: 0 | 1;
  rules: SentimentScore;
  vader: number;
  margin: number;
}

type Row = LabeledRow & { file: string };

const vaderAnswer = (compound: number): Answer => (compound >= 0.05 ? "positive" : compound <= -0.05 ? "negative" : "neutral");
const marginAnswer = (margin: number): Answer => (margin >= 0 ? "positive" : "negative");
const right = (label: 0 | 1, answer: Answer) => answer === (label === 1 ? "positive" : "negative");

function hybridMetrics(rows: Scored[], policy: HybridPolicy) {
  const acc = new ThreeWayAccumulator();
  const decided: Record<HybridMethod, number> = { rules: 0, transformer: 0, combined: 0 };
  let ran = 0;
  const answers: Answer[] = [];
  for (const r of rows) {
    const runs = needsTransformer(r.rules, policy);
    if (runs) ran++;
    const decision = decideHybrid(r.rules, runs ? r.margin : undefined, policy);
    decided[decision.method]++;
    acc.add(r.label, decision.label);
    answers.push(decision.label);
  }
  const share = (k: number) => Math.round((rows.length === 0 ? 0 : k / rows.length) * 10_000) / 10_000;
  return {
    metrics: {
      ...acc.result(),
      policy: policy.version,
      transformerRate: share(ran),
      decidedBy: { rules: share(decided.rules), transformer: share(decided.transformer), combined: share(decided.combined) },
    },
    answers,
  };
}

function metricsFor(rows: Scored[], policy: HybridPolicy) {
  const answers = {
    rules: rows.map((r) => r.rules.label),
    vader: rows.map((r) => vaderAnswer(r.vader)),
    transformer: rows.map((r) => marginAnswer(r.margin)),
  };
  const of = (list: Answer[]) => {
    const acc = new ThreeWayAccumulator();
    for (const [i, r] of rows.entries()) acc.add(r.label, list[i]!);
    return acc.result();
  };
  const hybrid = hybridMetrics(rows, policy);
  const correct = (list: Answer[]) => list.map((a, i) => right(rows[i]!.label, a));
  const hybridRight = correct(hybrid.answers);
  return {
    rules: of(answers.rules),
    vader: of(answers.vader),
    transformer: of(answers.transformer),
    hybrid: hybrid.metrics,
    hybridDefault: hybridMetrics(rows, DEFAULT_HYBRID_POLICY).metrics,
    hybridVs: {
      rules: pairedComparison(hybridRight, correct(answers.rules)),
      transformer: pairedComparison(hybridRight, correct(answers.transformer)),
    },
  };
}

async function score(rows: Row[], source: (r: Row) => string, scorer: RuleScorer, classifier: TransformerClassifier): Promise<Scored[]> {
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
    source: source(r),
    line: r.line,
    label: r.label,
    // The page column (the e-commerce sets have one) selects page rules, as a request's page does.
    rules: scorer.score(r.text, r.page),
    vader: SentimentIntensityAnalyzer.polarity_scores(r.text).compound,
    margin: margins[i]!,
  }));
}

function readRows(file: string): Row[] {
  const parsed = readLabeledTsv(file);
  for (const bad of parsed.bad) process.stderr.write(`${bad.file}:${bad.line}: skipped bad row: ${bad.reason}\n`);
  if (parsed.rows.length === 0) throw new Error(`${file}: no labeled rows (expected text<TAB>0|1 per line)`);
  return parsed.rows.map((r) => ({ ...r, file }));
}

/** split.json as train-text writes it (format funnel-text-split/v2): per file, its held-out sentence lines. */
interface SplitFile {
  file: string;
  validationLines: number[];
  testLines: number[];
}

function readSplit(file: string, dataFiles: string[]): { file: string; validation: Row[]; test: Row[] }[] {
  const split = JSON.parse(readFileSync(file, "utf8")) as { format?: string; files?: SplitFile[] };
  if (split.format !== "funnel-text-split/v2" || !Array.isArray(split.files)) {
    throw new Error(`${file}: not a funnel-text-split/v2 split.json (an older split leaked phrases of test sentences into training): retrain with npm run train-text`);
  }
  return split.files.map((part) => {
    // The split names files as train-text was given them; --data may name the same file from elsewhere.
    const located = existsSync(part.file) ? part.file : dataFiles.find((d) => path.basename(d) === path.basename(part.file));
    if (!located) throw new Error(`${file}: cannot find ${part.file}; pass it with --data`);
    const rows = readRows(located);
    const pick = (lines: number[]) => {
      const wanted = new Set(lines);
      const picked = rows.filter((r) => wanted.has(r.line));
      if (picked.length !== wanted.size) throw new Error(`${file}: ${wanted.size - picked.length} of its lines are not labeled rows of ${located}`);
      return picked;
    };
    return { file: path.resolve(located), validation: pick(part.validationLines), test: pick(part.testLines) };
  });
}

const pct = (x: number) => (x * 100).toFixed(1);

/** The report as Markdown for a person; the JSON file is for machines. */
function markdown(sets: { set: string; metrics: ReturnType<typeof metricsFor> }[]): string {
  const lines = [
    "| set | n | rules | VADER | transformer | hybrid | hybrid default | transformer runs | hybrid vs rules / vs transformer (only-hybrid:only-other) |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  const cell = (m: { accuracy: number; accuracyInterval: [number, number]; macroF1: number; neutral: number }) =>
    `${m.accuracy.toFixed(3)} [${m.accuracyInterval[0].toFixed(3)}, ${m.accuracyInterval[1].toFixed(3)}] / ${m.macroF1.toFixed(3)}${m.neutral > 0 ? ` (${m.neutral} neutral)` : ""}`;
  for (const { set, metrics: m } of sets) {
    lines.push(
      `| ${set} | ${m.rules.n} | ${cell(m.rules)} | ${cell(m.vader)} | ${cell(m.transformer)} | ${cell(m.hybrid)} | ${cell(m.hybridDefault)} | ${pct(m.hybrid.transformerRate)} % | ` +
        `${m.hybridVs.rules.onlyA}:${m.hybridVs.rules.onlyB} (p ${m.hybridVs.rules.p}) / ${m.hybridVs.transformer.onlyA}:${m.hybridVs.transformer.onlyB} (p ${m.hybridVs.transformer.p}) |`,
    );
  }
  return `${lines.join("\n")}\n\naccuracy [Wilson 95 %] / macro-F1, three-way (neutral = abstention)\n`;
}

async function main(): Promise<void> {
  const options = new Command()
    .name("eval-hybrid")
    .description(`Rules vs VADER vs transformer vs hybrid on labeled TSV files (text<TAB>0|1, optional page column). ${DECISION}`)
    .requiredOption("--model <dir>", "Hugging Face-layout ONNX classifier directory (train-text output, an import, or a registry download)")
    .option("--split <split.json>", "split.json written by train-text: evaluate each of its files' held-out test sentences (and fit on their validation sentences)")
    .option("--data <file...>", "more labeled TSV files, evaluated whole (default: the three UCI files without --split; the shop sets with it)")
    .option("--guard <file...>", `shop text outside the split: --fit learns from every ${GUARD_EVERY}rd line (line % ${GUARD_EVERY} = 0), the rest is evaluated as unseen`, SHOP_GUARD)
    .option("--policy <file>", `hybrid policy to evaluate (default: the model directory's ${HYBRID_POLICY_FILE}, else the default policy)`)
    .option("--fit", `fit the policy on the validation sentences of every split file and the guard files' fitting third, write it to <model>/${HYBRID_POLICY_FILE} (and rewrite manifest.json when there is one), then evaluate it`)
    .option("--policy-version <name>", "--fit: the version name written into the policy", "hybrid.v2")
    .option("--out <file>", "the JSON report ('-' = stdout); stdout gets a Markdown table otherwise", "eval-hybrid.json")
    .parse()
    .opts<{ model: string; data?: string[]; split?: string; policy?: string; fit?: boolean; guard: string[]; policyVersion: string; out: string }>();

  const scorer = RuleScorer.load();
  const classifier = await TransformerClassifier.load(options.model);
  // Every path is compared resolved: a relative --data and an absolute --guard naming the same file are one file.
  const dataFiles = (options.data ?? (options.split ? SHOP_SETS : UCI)).map((f) => path.resolve(f));
  const guardFiles = options.guard.map((f) => path.resolve(f));
  const splitParts = options.split ? readSplit(options.split, dataFiles) : [];
  const report: Record<string, unknown> = { decision: DECISION, model: options.model, ruleSetVersion: scorer.ruleSetVersion, maxLength: classifier.maxLength };
  const name = (file: string) => path.basename(file);

  let policy: HybridPolicy;
  if (options.fit) {
    if (splitParts.length === 0) throw new Error("--fit fits on the split's validation sentences: pass --split (train-text's split.json)");
    const validationRows = [
      ...splitParts.flatMap((p) => p.validation),
      ...guardFiles.flatMap((f) => readRows(f).filter((r) => r.line % GUARD_EVERY === 0)),
    ];
    const fitScored = await score(validationRows, (r) => name(r.file), scorer, classifier);
    const fitted = fitHybridPolicy({ version: options.policyVersion, ruleSetVersion: scorer.ruleSetVersion, validation: fitScored });
    const sources = [...new Set(fitScored.map((r) => r.source))];
    policy = {
      ...fitted.policy,
      fitted: {
        by: "npm run eval:hybrid -- --fit",
        at: new Date().toISOString(),
        on: Object.fromEntries(sources.map((s) => [s, fitScored.filter((r) => r.source === s).length])),
        lines: `validation sentences of ${path.basename(options.split!)}; guard files: line % ${GUARD_EVERY} = 0`,
        combinationRows: fitted.combinationRows,
        cells: fitted.cells,
        validation: Object.fromEntries(sources.map((s) => [s, metricsFor(fitScored.filter((r) => r.source === s), fitted.policy)])),
      },
    };
    const target = path.join(options.model, HYBRID_POLICY_FILE);
    writeFileSync(target, `${JSON.stringify(policy, null, 2)}\n`);
    // The policy is part of the model version: a directory with a manifest gets it rewritten so it registers as is.
    if (existsSync(path.join(options.model, "manifest.json"))) {
      const manifest = await readModelDirectory(options.model);
      await writeModelDirectoryManifest(options.model, manifest);
    }
    process.stderr.write(`eval-hybrid: wrote ${target} (cells ${JSON.stringify(policy.cells)})\n`);
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

  const evaluated: Row[] = [...splitParts.flatMap((p) => p.test), ...dataFiles.flatMap((f) => readRows(f))];
  const setOf = (r: Row) => (splitParts.some((p) => p.file === r.file) ? `${name(r.file)} (held-out test sentences)` : name(r.file));
  const scored = await score(evaluated, setOf, scorer, classifier);
  await classifier.close();
  const setNames = [...new Set(scored.map((s) => s.source))];
  const sets = setNames.map((set) => ({ set, metrics: metricsFor(scored.filter((s) => s.source === set), policy) }));
  // Guard files evaluated whole: their lines the fit never saw, as a set of their own.
  const fittedOnGuards = options.fit === true || policy.fitted !== undefined;
  for (const file of dataFiles.filter((f) => guardFiles.includes(f) && fittedOnGuards)) {
    const unseen = scored.filter((s, i) => evaluated[i]!.file === file && s.line % GUARD_EVERY !== 0);
    sets.push({ set: `${name(file)} (lines the fit never saw)`, metrics: metricsFor(unseen, policy) });
  }
  report.sets = sets;
  report.cellsOfEvaluatedTexts = Object.fromEntries(
    setNames.map((set) => {
      const counts: Record<string, number> = {};
      for (const s of scored.filter((x) => x.source === set)) {
        const cell = cellOf(s.rules, policy) ?? "unsupported-language";
        counts[cell] = (counts[cell] ?? 0) + 1;
      }
      return [set, counts];
    }),
  );
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (options.out === "-") {
    process.stdout.write(json);
  } else {
    writeFileSync(options.out, json);
    process.stdout.write(`${markdown(sets)}\nJSON report: ${path.resolve(options.out)}\n`);
  }
}

// npm runs workspace scripts inside services/sentiment; relative paths on the command line mean the caller's directory.
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

main().catch((error: unknown) => {
  process.stderr.write(`eval-hybrid: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
