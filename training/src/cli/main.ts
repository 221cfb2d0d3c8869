#!/usr/bin/env node
// CLI entry point: the only place in the training package that reads process.env and process.argv.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Argument, Command, InvalidArgumentError, Option } from "commander";
import { readRegistryConfig, registryFromConfig } from "@funnel/registry";
import { secretValue } from "@funnel/settings";
import { DEVELOPMENT_PSEUDONYM_SALT, DEVICES, isDevice } from "@funnel/two-tower";
import { runTorchReference } from "../../bench/torch-reference.js";
import { DEFAULT_MEMORY_BENCHMARK_OPTIONS, runMemoryBenchmark } from "../../bench/train-memory.js";
import { DEFAULT_BENCHMARK_OPTIONS, runTrainingBenchmark } from "../../bench/train-throughput.js";
import { type EventShift, generateDataset, shiftEvents, writeEvents } from "../data/index.js";
import { runImport, type ImportFlags } from "./run-import.js";
import { evaluateModelDirectory, type ModelEvaluation } from "./evaluate-model-directory.js";
import { loadDataset } from "./load-dataset.js";
import { publishModelDirectory } from "./publish-model-directory.js";
import { mergeRunConfig, parseRunConfig, readRunConfigFile, type RunConfigInput, runConfigSchema } from "./run-config.js";
import { describe as describeSweep, formatSweepTable, runSweep } from "./run-sweep.js";
import { coverage, formatIntervals, formatTable, modelOptionsOf, protocolOf, runTraining, splitName, trainAndEvaluate } from "./run-training.js";
import { BASELINE_LABELS, BASELINES, USER_METRIC_KEYS } from "../evaluation/index.js";
import { ARCHITECTURES, towerConfigFromSpec } from "../model/two-tower-model.js";
import { SELECTION_METRICS, type SelectionMetric } from "../model/train-two-tower.js";
import { NEIGHBOUR_METHODS, type NeighbourMethod } from "../evaluation/index.js";
import { addTextClassifierCommands } from "./text-classifier-commands.js";
import { bootstrapFirstModel } from "./bootstrap-first-model.js";
import { expandServedPaths, outcomeMetricsRegistry, pushOutcomeMetrics, renderOutcomeReport, runOutcomes, writeTextfile } from "../outcomes/index.js";
import { offlineDrift, serverDrift, writeDriftResult } from "./run-drift.js";
import { DEFAULT_GATE_THRESHOLDS, DEFAULT_LATENCY_CALLS, expandEventPaths, type GateResult, runRetrain } from "../retrain/index.js";


const int = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got "${value}"`);
  return n;
};
const num = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${value}"`);
  return n;
};

/** An ISO 8601 time, or an age such as 7d or 36h before now (what a schedule passes: "the last week"). */
const isoTime = (name: string) => (value: string): Date => {
  const age = /^(\d+)([dh])$/.exec(value.trim());
  if (age) return new Date(Date.now() - Number(age[1]) * (age[2] === "d" ? 86_400_000 : 3_600_000));
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) throw new InvalidArgumentError(`${name} must be an ISO 8601 time such as 2026-01-01T00:00:00Z or an age such as 7d or 12h, got "${value}"`);
  return t;
};

/** `--push-group namespace=prod`: one grouping label per value, collected into an object. */
function pushGroup(value: string, previous: Record<string, string>): Record<string, string> {
  const match = /^([a-zA-Z_][a-zA-Z0-9_]*)=(.+)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`--push-group must be label=value with a Prometheus label name, got "${value}"`);
  return { ...previous, [match[1] as string]: match[2] as string };
}

interface RetrainFlags {
  since?: Date;
  until?: Date;
  holdout: number;
  salt?: string;
  metricTolerance: number;
  parityTolerance: number;
  maxModelMb: number;
  maxP99Ms: number;
  maxP50Ratio: number;
  maxP99Ratio: number;
  latencyCalls: number;
  breakingChange?: string;
}

/** The gate table on stderr, for people reading the job's log (stdout carries the JSON). */
function formatGateTable(gates: GateResult[]): string {
  const rows = [["gate", "result", "figure", "bound"], ...gates.map((g) => [g.gate, g.status, g.value === null ? "-" : String(Number(g.value.toPrecision(4))), g.threshold])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ")).join("\n");
}

/** `--users` is a count; a file name there is almost certainly a user attribute table given to the wrong flag. */
function usersCount(value: string): number {
  if (!/^\d+$/.test(value.trim())) {
    throw new InvalidArgumentError(`--users is the number of users to generate, got "${value}"; for a user attribute table use --user-attributes ${value}`);
  }
  return Number(value);
}

/** evaluate's summary on stderr, in train's form: the figures, who was scored, the intervals and verdicts. */
function formatModelEvaluation(e: ModelEvaluation): string {
  const p = e.protocol;
  const rows: [string, (typeof e)["model"]][] = [
    ...(e.served ? [["served policy", e.served.test] as [string, (typeof e)["model"]]] : []),
    ["two-tower", e.model],
    ...BASELINES.map((b): [string, (typeof e)["model"]] => [BASELINE_LABELS[b], e.baselines[b]]),
  ];
  const c = e.coverage;
  return [
    `test (${p.split}${p.refit ? ", refit on train + validation" : ""}; baselines fitted on ${p.baselinesFittedOn}: EASE λ ${p.baselineParams.easeLambda}, ` +
      `item-kNN shrink ${p.baselineParams.knnShrink}, neighbours ${p.baselineParams.knnNeighbours || "all"}, from ${p.baselineParamsFrom}): ` +
      `${c.usersScored} users scored; not scored: ${c.usersWithoutHistory} without history (cold start), ${c.usersWithOnlySeenPositives} whose held-out items were all already in their history; ` +
      `${c.positivesOutsideCatalogue} held-out interactions with items outside the catalogue`,
    formatTable(["test", ...USER_METRIC_KEYS, "users"], rows.map(([name, m]) => [name, ...USER_METRIC_KEYS.map((k) => m[k].toFixed(4)), String(m.users)])),
    ...formatIntervals(e.intervals, "two-tower"),
    ...(e.served ? formatIntervals(e.served.intervals, "served policy") : []),
    ...e.warnings.map((w) => `warning: ${w}`),
  ].join("\n");
}

/** A command's JSON result: to stdout, and to `out` as well when given. */
async function printJson(result: unknown, out?: string): Promise<void> {
  const json = `${JSON.stringify(result, null, 2)}\n`;
  if (out) {
    await mkdir(path.dirname(path.resolve(out)), { recursive: true });
    await writeFile(out, json);
  }
  process.stdout.write(json);
}

function gitCommit(): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

function salt(option: string | undefined): string {
  // The salt is a secret: FUNNEL_PSEUDONYM_SALT_FILE (a mounted Secret) keeps it out of env and `ps`.
  const value = option ?? secretValue(
    { value: process.env.FUNNEL_PSEUDONYM_SALT ?? "", file: process.env.FUNNEL_PSEUDONYM_SALT_FILE ?? "" },
    // The serving runtime declares these two settings (pseudonymSettings); training takes the same env vars.
    { value: { env: "FUNNEL_PSEUDONYM_SALT", flag: "--salt" }, file: { env: "FUNNEL_PSEUDONYM_SALT_FILE", flag: "--salt" } },
  );
  if (value) return value;
  process.stderr.write("warning: no --salt, FUNNEL_PSEUDONYM_SALT or FUNNEL_PSEUDONYM_SALT_FILE; pseudonymising user ids with the development salt\n");
  return DEVELOPMENT_PSEUDONYM_SALT;
}

interface DataFlags {
  data?: string[];
  items?: string;
  userAttributes?: string;
  generate?: boolean;
  users?: number;
  seed?: number;
  itemCount?: number;
  strict?: boolean;
  progress: boolean;
}

function dataSource(flags: DataFlags): RunConfigInput["data"] {
  if (flags.generate) return { files: [], generate: { users: flags.users ?? 10_000, seed: flags.seed ?? 7, ...(flags.itemCount ? { items: flags.itemCount } : {}) } };
  if (flags.data && flags.data.length > 0) {
    return { files: flags.data, ...(flags.items ? { itemsFile: flags.items } : {}), ...(flags.userAttributes ? { usersFile: flags.userAttributes } : {}) };
  }
  return undefined;
}

function addDataOptions(cmd: Command): Command {
  return cmd
    .option("--data <file...>", "event files (CSV with header or JSONL)")
    .option("--items <file>", "item attribute table (item_id, category, ...; several categories as a|b)")
    .option("--user-attributes <file>", "user attribute table (user_id, then categorical columns such as country)")
    .option("--generate", "use a generated dataset instead of files")
    .option("--users <n>", "with --generate: how many users to generate, a user table is --user-attributes (default: 10000; sweep 2000)", usersCount)
    .option("--item-count <n>", "items to generate", int("--item-count"))
    .option("--seed <n>", `seed: data generation, split, initialisation (default: ${DEFAULTS.seed})`, int("--seed"))
    .option("--strict", "stop at the first bad row instead of reporting and skipping it")
    .option("--no-progress", "no progress bars");
}

/** Every default of a run, from the one declaration (runConfigSchema), for the help texts. */
const DEFAULTS = runConfigSchema.parse({});
const list = (values: readonly number[]): string => values.join(",");
const numbers = (name: string) => (v: string): number[] => v.split(",").map(num(name));

/** The split and protocol flags: the same in train, evaluate, sweep and reference (one protocol). */
function addSplitOptions(cmd: Command, defaults: { shown: boolean } = { shown: true }): Command {
  const d = (text: string, value: unknown): string => (defaults.shown ? `${text} (default: ${value})` : text);
  return cmd
    .addOption(
      new Option(
        "--split <strategy>",
        d("leave-last: each user's last --holdout-last interactions are test, the ones before validation; time: later events held out (global cut); user: held-out users", DEFAULTS.split.strategy),
      ).choices(["time", "user", "leave-last"]),
    )
    .option("--split-ratios <list>", d("train,validation,test shares for time and user splits, e.g. 0.8,0.1,0.1", list(DEFAULTS.split.ratios)), numbers("--split-ratios"))
    .option("--holdout-last <n>", d("leave-last: interactions per user held out for test (as many for validation)", DEFAULTS.split.holdoutLast), int("--holdout-last"))
    .option(
      "--refit",
      d("after choosing the epoch and the baselines' values on validation, retrain the model and refit every baseline on train + validation before scoring test", DEFAULTS.evaluation.refit),
    )
    .option("--no-refit", "score test with the model and baselines fitted on train alone (half the training time)")
    .option("--ease-lambda <list>", d("EASE λ grid tuned on validation (one value: fixed)", list(DEFAULTS.baselines.easeLambda)), numbers("--ease-lambda"))
    .option("--knn-shrink <list>", d("item-kNN shrinkage grid tuned on validation", list(DEFAULTS.baselines.knnShrink)), numbers("--knn-shrink"))
    .option("--knn-neighbours <list>", d("item-kNN neighbours-per-item grid (0: all)", list(DEFAULTS.baselines.knnNeighbours)), numbers("--knn-neighbours"))
    .option("--bootstrap-resamples <n>", d("resamples of the paired bootstrap behind each model − baseline interval", DEFAULTS.evaluation.bootstrapResamples), int("--bootstrap-resamples"))
    .option("--min-scored-users <n>", d("warn when fewer test users can be scored", DEFAULTS.evaluation.minScoredUsers), int("--min-scored-users"));
}

function addTrainingOptions(cmd: Command): Command {
  const t = DEFAULTS.training;
  const m = DEFAULTS.model;
  return addSplitOptions(
    cmd
      .option("--config <file>", "run config JSON (flags override it)")
      .option("--dim <n>", `embedding dimension: 64, 128 or 256 (default: ${m.dim})`, int("--dim"))
      .option("--hidden <n>", `hidden width of each tower's MLP (default: ${m.hidden})`, int("--hidden"))
      .addOption(
        new Option("--architecture <a>", `history: the user as a recency-weighted bag of their items; mlp: the first model (default: ${m.architecture})`).choices([
          ...ARCHITECTURES,
        ]),
      )
      .option("--sequence-length <n>", `history slots the user tower reads, the last N events (default: ${m.sequenceLength})`, int("--sequence-length"))
      .option("--user-context", "history model: add device, pages, attributes, id and numbers to the history bag (default: off)")
      .option("--task-mix <x>", `history model: share of rows given the next-items task, the rest random drop (default: ${t.taskMix})`, num("--task-mix"))
      .option("--next-items <n>", `history model: events after the cut that are targets of the next-items task (default: ${t.nextItems})`, int("--next-items"))
      .option("--drop-min <x>", `history model: least share of a history the random-drop task drops (default: ${t.dropMin})`, num("--drop-min"))
      .option("--drop-max <x>", `history model: largest share of a history the random-drop task drops (default: ${t.dropMax})`, num("--drop-max"))
      .option("--epochs <n>", `maximum epochs (default: ${t.epochs})`, int("--epochs"))
      .option("--batch-size <n>", `batch size: users per step (history model), pairs and in-batch negatives (mlp) (default: ${t.batchSize})`, int("--batch-size"))
      .option("--lr <x>", `peak learning rate (default: ${t.learningRate})`, num("--lr"))
      .addOption(new Option("--schedule <s>", `learning-rate schedule (default: ${t.schedule})`).choices(["constant", "cosine", "step"]))
      .option("--temperature <x>", `softmax temperature, mlp model only (default: ${t.temperature})`, num("--temperature"))
      .option("--weight-decay <x>", `history model: AdamW decay of every weight; mlp: L2 decay on dense kernels (default: ${t.weightDecay})`, num("--weight-decay"))
      .option("--dropout <x>", `history model: dropout on the user MLP's input; mlp: on the hidden layers (default: ${t.dropout})`, num("--dropout"))
      .option("--user-id-buckets <n>", `hashed user-id embedding in the user tower with this many buckets, 0: none (default: ${m.userIdBuckets})`, int("--user-id-buckets"))
      .option("--user-id-dropout <x>", `share of training rows embedded without their user id (default: ${t.userIdDropout})`, num("--user-id-dropout"))
      .option("--extra-negatives <n>", `uniformly sampled extra negatives per step (default: ${t.extraNegatives})`, int("--extra-negatives"))
      .option("--no-logq", `disable the logQ (sampling-probability) correction (default: ${t.logQ ? "on" : "off"})`)
      .option("--parallel-towers", `train the two towers in two worker threads (default: ${t.parallelTowers})`)
      .option("--no-parallel-towers", "train both towers in one thread")
      .option("--patience <n>", `early-stopping patience in epochs (default: ${t.patience})`, int("--patience"))
      .addOption(
        new Option("--select-on <metric>", `validation metric that picks the kept epoch and stops training, loss breaks ties (default: ${t.selectOn})`).choices([
          ...SELECTION_METRICS,
        ]),
      )
      .addOption(
        new Option(
          "--neighbours <method>",
          `item-neighbour source of the served policy: the tuned EASE's or item-kNN's rows cut to their top K, or none (default: ${DEFAULTS.servedPolicy.neighbours})`,
        ).choices([...NEIGHBOUR_METHODS]),
      )
      .option("--neighbours-k <n>", `neighbours kept per item in item-neighbours.json (default: ${DEFAULTS.servedPolicy.neighboursK})`, int("--neighbours-k")),
  ).option(
    "--bias-max-ratio <x>",
    `report: flag a user group whose share of useful recommendations is past this multiple of its share of users (default: ${DEFAULTS.bias.maxRatio})`,
    num("--bias-max-ratio"),
  );
}

interface SweepFlags {
  dims?: number[];
  lrs?: number[];
  sequenceLengths?: number[];
  taskMixes?: number[];
  dropouts?: number[];
  weightDecays?: number[];
  batchSizes?: number[];
  patiences?: number[];
}

interface TrainFlags extends DataFlags {
  config?: string;
  dim?: number;
  hidden?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  schedule?: string;
  temperature?: number;
  weightDecay?: number;
  dropout?: number;
  userIdBuckets?: number;
  userIdDropout?: number;
  architecture?: "history" | "mlp";
  sequenceLength?: number;
  userContext?: boolean;
  taskMix?: number;
  nextItems?: number;
  dropMin?: number;
  dropMax?: number;
  extraNegatives?: number;
  logq: boolean;
  /** undefined unless given: commander's --no-x pair otherwise defaults it to true and would override the config file. */
  parallelTowers?: boolean;
  patience?: number;
  selectOn?: SelectionMetric;
  neighbours?: NeighbourMethod;
  neighboursK?: number;
  split?: "time" | "user" | "leave-last";
  splitRatios?: number[];
  holdoutLast?: number;
  /** undefined unless given (see parallelTowers). */
  refit?: boolean;
  easeLambda?: number[];
  knnShrink?: number[];
  knnNeighbours?: number[];
  bootstrapResamples?: number;
  minScoredUsers?: number;
  biasMaxRatio?: number;
  out?: string;
  name?: string;
}

async function runConfigFrom(flags: TrainFlags): Promise<ReturnType<typeof parseRunConfig>> {
  const fromFile = flags.config ? await readRunConfigFile(flags.config) : {};
  const overrides: RunConfigInput = {
    data: dataSource(flags),
    split: { strategy: flags.split, ratios: flags.splitRatios as [number, number, number] | undefined, holdoutLast: flags.holdoutLast },
    model: {
      dim: flags.dim,
      hidden: flags.hidden,
      userIdBuckets: flags.userIdBuckets,
      architecture: flags.architecture,
      sequenceLength: flags.sequenceLength,
      userContext: flags.userContext,
    },
    training: {
      epochs: flags.epochs,
      batchSize: flags.batchSize,
      learningRate: flags.lr,
      schedule: flags.schedule as "constant" | "cosine" | "step" | undefined,
      temperature: flags.temperature,
      weightDecay: flags.weightDecay,
      dropout: flags.dropout,
      userIdDropout: flags.userIdDropout,
      extraNegatives: flags.extraNegatives,
      logQ: flags.logq === false ? false : undefined,
      patience: flags.patience,
      selectOn: flags.selectOn,
      parallelTowers: flags.parallelTowers,
      taskMix: flags.taskMix,
      nextItems: flags.nextItems,
      dropMin: flags.dropMin,
      dropMax: flags.dropMax,
    },
    baselines: { easeLambda: flags.easeLambda, knnShrink: flags.knnShrink, knnNeighbours: flags.knnNeighbours },
    servedPolicy: { neighbours: flags.neighbours, neighboursK: flags.neighboursK },
    evaluation: { refit: flags.refit, bootstrapResamples: flags.bootstrapResamples, minScoredUsers: flags.minScoredUsers },
    bias: { maxRatio: flags.biasMaxRatio },
    seed: flags.seed,
    out: flags.out,
    name: flags.name,
  };
  return parseRunConfig(mergeRunConfig(fromFile, overrides), flags.config ? `run config ${flags.config} (with flags)` : "run flags");
}

export function buildProgram(): Command {
  const program = new Command("funnel-training").description("Two-tower training, evaluation, export and benchmarks").showHelpAfterError();

  program
    .command("bootstrap")
    .description("with no version behind the alias, train a small two-tower model on generated data, register it and point the alias at it (npm start runs this on a fresh registry)")
    .option("--model <name>", "registered model name", "two-tower")
    .option("--alias <alias>", "alias the services follow", "production")
    .option("--users <n>", "generated users (5000 users, 5 epochs: about 40 s of training on 2 cores)", int("--users"), 5_000)
    .option("--epochs <n>", "epochs (3 left it at popularity's recall)", int("--epochs"), 5)
    .action(async (flags: { model: string; alias: string; users: number; epochs: number }) => {
      const registry = registryFromConfig(readRegistryConfig());
      // Generated data only: the development salt is right when none is configured, so no warning.
      const configured = secretValue(
        { value: process.env.FUNNEL_PSEUDONYM_SALT ?? "", file: process.env.FUNNEL_PSEUDONYM_SALT_FILE ?? "" },
        { value: { env: "FUNNEL_PSEUDONYM_SALT", flag: "--salt" }, file: { env: "FUNNEL_PSEUDONYM_SALT_FILE", flag: "--salt" } },
      );
      const result = await bootstrapFirstModel({
        registry,
        ...flags,
        salt: configured || DEVELOPMENT_PSEUDONYM_SALT,
        log: (line) => process.stderr.write(`${line}\n`),
        progress: process.stderr.isTTY === true,
      });
      if (!result.trained) process.stderr.write(`${flags.model}@${flags.alias} is version ${result.version}: nothing to do\n`);
    });

  program
    .command("gen-data")
    .description("write a generated event dataset (and its item attribute table)")
    .requiredOption("--out <file>", "output file: .csv or .jsonl")
    .option("--users <n>", "users", int("--users"), 10_000)
    .option("--seed <n>", "seed", int("--seed"), 7)
    .option("--item-count <n>", "items in the catalogue", int("--item-count"))
    .option("--items-out <file>", "item attribute CSV (default: <out>.items.csv)")
    .option("--shift-device <device:share>", "deliberate drift: this share of users on this device only, e.g. tablet:0.6", (v) => {
      const [to, share] = v.split(":");
      if (!isDevice(to) || !(Number(share) >= 0 && Number(share) <= 1)) throw new InvalidArgumentError(`--shift-device takes <${DEVICES.join("|")}>:<share in [0, 1]>, got "${v}"`);
      return { to, share: Number(share) };
    })
    .option("--shift-duration <factor>", "deliberate drift: every event's duration multiplied by this", num("--shift-duration"))
    .action(async (flags: { out: string; users: number; seed: number; itemCount?: number; itemsOut?: string; shiftDevice?: EventShift["device"]; shiftDuration?: number }) => {
      const data = generateDataset({ users: flags.users, seed: flags.seed, ...(flags.itemCount ? { items: flags.itemCount } : {}) });
      const shifted = flags.shiftDevice || flags.shiftDuration ? shiftEvents(data.events, { device: flags.shiftDevice, durationFactor: flags.shiftDuration }) : data.events;
      await mkdir(path.dirname(path.resolve(flags.out)), { recursive: true });
      await writeEvents(flags.out, shifted);
      const itemsOut = flags.itemsOut ?? `${flags.out.replace(/\.(csv|jsonl)$/i, "")}.items.csv`;
      await writeFile(itemsOut, `item_id,category\n${data.items.map((i) => `${i.itemId},${i.category}`).join("\n")}\n`);
      process.stderr.write(`wrote ${data.events.length} events (${data.users.length} users) to ${flags.out} and ${data.items.length} items to ${itemsOut}\n`);
    });

  program
    .command("import")
    .description("convert a real interaction log to the event schema (plus item and user attribute tables)")
    .addArgument(new Argument("<format>", "online-retail (UCI Online Retail) or csv (give the column mapping)").choices(["online-retail", "csv"]))
    .requiredOption("--in <file>", "the log to read (.csv with header, or .jsonl)")
    .requiredOption("--out <file>", "events file to write (.csv or .jsonl)")
    .option("--items-out <file>", "item attribute CSV (default: <out>.items.csv)")
    .option("--users-out <file>", "user attribute CSV (default: <out>.users.csv)")
    .option("--user <column>", "csv: user id column")
    .option("--item <column>", "csv: item id column")
    .option("--time <column>", "csv: timestamp column")
    .addOption(new Option("--time-format <f>", "csv: iso (no offset = UTC), s or ms since the epoch").choices(["iso", "s", "ms"]).default("iso"))
    .option("--session <column>", "csv: session column (default: one session per user and timestamp)")
    .option("--value <column>", "csv: quantity or rating column")
    .option("--min-value <x>", "csv: rows with a smaller value are skipped (e.g. 4 for 5-star ratings)", num("--min-value"))
    .option("--category <column>", "csv: item category column (multi-valued with --category-separator)")
    .option("--category-separator <s>", "csv: separator of several categories in one cell", "|")
    .option("--item-attributes <columns>", "csv: comma-separated item columns to keep", (v) => v.split(","))
    .option("--user-attributes <columns>", "csv: comma-separated user columns to keep", (v) => v.split(","))
    .option("--no-progress", "no progress bar")
    .action(async (format: "online-retail" | "csv", flags: ImportFlags) => {
      const summary = await runImport(format, flags);
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    });

  addTrainingOptions(addDataOptions(program.command("train").description("train a two-tower model and write a model directory")))
    .option("--out <dir>", `model directory to write, must not exist or be empty (default: ${DEFAULTS.out})`)
    .option("--name <name>", `registered model name (default: ${DEFAULTS.name})`)
    .option("--salt <salt>", "salt for user-id pseudonyms (default: FUNNEL_PSEUDONYM_SALT)")
    .option("--publish", "register the model directory with the registry (FUNNEL_REGISTRY, ...)")
    .option("--promote-if-better <metric>", "with --publish: move the alias only if this metric beats its current version")
    .option("--alias <alias>", "alias moved by --promote-if-better", "production")
    .action(async (flags: TrainFlags & { salt?: string; publish?: boolean; promoteIfBetter?: string; alias: string }) => {
      if (flags.promoteIfBetter && !flags.publish) throw new InvalidArgumentError("--promote-if-better needs --publish");
      const config = await runConfigFrom(flags);
      const summary = await runTraining(config, { salt: salt(flags.salt), gitCommit: gitCommit(), progress: flags.progress });
      const result: Record<string, unknown> = {
        out: summary.out,
        metrics: summary.headlineMetrics,
        split: splitName(config),
        coverage: coverage(summary.run.task.test, summary.run.test.model),
        protocol: protocolOf(summary.run),
        baselineParams: summary.run.baselineTuning.params,
        intervals: summary.run.test.intervals,
        warnings: summary.run.warnings,
      };
      if (flags.publish) {
        const registry = registryFromConfig(readRegistryConfig(process.env));
        result.published = await publishModelDirectory(registry, summary.out, { name: config.name, promoteIfBetter: flags.promoteIfBetter, alias: flags.alias });
      }
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });

  addSplitOptions(addDataOptions(program.command("evaluate").description("score a model directory on any dataset in the event schema, under train's protocol (split, refit, baselines)")), {
    shown: false,
  })
    .requiredOption("--model <dir>", "model directory (as written by train or downloaded from the registry)")
    .option("--holdout <x>", "instead of a split: the latest share of events held out as positives, everything before is history (retrain's holdout)", num("--holdout"))
    .option("--salt <salt>", "salt of the model's user-id pseudonyms, for a model with user-id buckets (default: FUNNEL_PSEUDONYM_SALT)")
    .option("--out <file>", "also write the evaluation JSON here")
    .addHelpText(
      "after",
      "\nSplit, refit and baseline values default to the model directory's own (params.json, metrics.json), so on the data the model\n" +
        "was trained on, evaluate prints the baseline figures train printed, for the same users. A grid given to --ease-lambda or\n" +
        "--knn-shrink uses its first value (evaluate does not tune).",
    )
    .action(async (flags: TrainFlags & { model: string; holdout?: number; salt?: string; out?: string }) => {
      const source = dataSource(flags);
      if (!source) throw new InvalidArgumentError("evaluate needs --data <file...> or --generate");
      if (flags.holdout !== undefined && (flags.split || flags.holdoutLast || flags.splitRatios)) {
        throw new InvalidArgumentError("--holdout is a time cut of its own: give it or the split flags (--split, --holdout-last, --split-ratios), not both");
      }
      const dataset = await loadDataset(source as Parameters<typeof loadDataset>[0], { progress: flags.progress, strict: flags.strict });
      const evaluation = await evaluateModelDirectory(flags.model, dataset, {
        ...(flags.holdout !== undefined ? { holdout: flags.holdout } : {}),
        split: { strategy: flags.split, ratios: flags.splitRatios as [number, number, number] | undefined, holdoutLast: flags.holdoutLast },
        ...(flags.refit !== undefined ? { refit: flags.refit } : {}),
        baselineParams: { easeLambda: flags.easeLambda?.[0], knnShrink: flags.knnShrink?.[0], knnNeighbours: flags.knnNeighbours?.[0] },
        ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
        ...(flags.bootstrapResamples ? { bootstrapResamples: flags.bootstrapResamples } : {}),
        ...(flags.minScoredUsers !== undefined ? { minScoredUsers: flags.minScoredUsers } : {}),
        salt: () => salt(flags.salt),
      });
      process.stderr.write(`${formatModelEvaluation(evaluation)}\n`);
      await printJson({ modelDirectory: flags.model, data: dataset.source, ...evaluation }, flags.out);
    });

  program
    .command("outcomes")
    .description("join served-recommendation logs with outcome events: online hit and conversion rate per model version and day, against offline evaluation and the previous version; exits 1 on an alert")
    .requiredOption("--served <paths...>", "served-recommendation log files (JSON lines, as the Recommendation service writes them), or directories searched recursively for them")
    .requiredOption("--events <paths...>", "outcome events in the training event schema (CSV or JSONL files, or directories of them)")
    .option("--served-since <time>", "in directories, skip log files named for a UTC day before this time (ISO 8601 or an age such as 14d)", isoTime("--served-since"))
    .option("--window-days <days>", "an interaction counts when it comes at most this long after the recommendation was served", num("--window-days"), 1)
    .option("--max-drop <share>", "alert when a version's figure is more than this share below its baseline (0.2 = 20 %)", num("--max-drop"), 0.2)
    .option("--min-served <n>", "versions with fewer joined recommendations are reported but not compared", int("--min-served"), 200)
    .option("--offline-metric <name>", "the registered version metric online hit rate is compared with", "recall@10")
    .option("--salt <salt>", "pseudonym salt the serving side used (default FUNNEL_PSEUDONYM_SALT)")
    .option("--prom-out <file>", "write the figures as Prometheus text for node-exporter's textfile collector")
    .option("--push-gateway <url>", "push the figures to this Prometheus Pushgateway (job funnel-outcomes), replacing the group's previous ones")
    .option("--push-group <label=value...>", "with --push-gateway: grouping labels of the push, e.g. namespace=prod", pushGroup, {})
    .option("--html <file>", "write an HTML report (charts per day, comparison table)")
    .option("--out <file>", "also write the JSON report here")
    .action(async (flags: { served: string[]; events: string[]; servedSince?: Date; windowDays: number; maxDrop: number; minServed: number; offlineMetric: string; salt?: string; promOut?: string; pushGateway?: string; pushGroup: Record<string, string>; html?: string; out?: string }) => {
      if (!(flags.windowDays > 0)) throw new InvalidArgumentError(`--window-days must be positive, got ${flags.windowDays}`);
      if (!(flags.maxDrop >= 0 && flags.maxDrop < 1)) throw new InvalidArgumentError(`--max-drop must be in [0, 1), got ${flags.maxDrop}`);
      const registry = registryFromConfig(readRegistryConfig(process.env));
      const run = await runOutcomes({
        served: await expandServedPaths(flags.served, flags.servedSince?.toISOString().slice(0, 10)),
        events: await expandEventPaths(flags.events),
        windowMs: flags.windowDays * 86_400_000,
        maxDrop: flags.maxDrop,
        minServed: flags.minServed,
        offlineMetric: flags.offlineMetric,
        salt: salt(flags.salt),
        offlineFigure: async (model, version) => {
          const n = Number(version);
          if (!Number.isInteger(n)) return undefined;
          const registered = await registry.getVersion(model, n).catch((error: unknown) => {
            process.stderr.write(`warning: no offline figure for ${model} version ${version}: ${(error as Error).message}\n`);
            return undefined;
          });
          const figure = registered?.manifest.metrics[flags.offlineMetric];
          return typeof figure === "number" ? figure : undefined;
        },
      });
      const bad = [...run.servedReport.errors, ...run.eventsReport.errors];
      for (const e of bad.slice(0, 20)) process.stderr.write(`bad row ${e.file}:${e.line}: ${e.reason}\n`);
      if (bad.length > 20) process.stderr.write(`… and ${bad.length - 20} more bad rows (all listed in the JSON report)\n`);
      const gauges = outcomeMetricsRegistry(run.join, run.comparison, { served: run.servedReport.rowsRejected, events: run.eventsReport.rowsRejected });
      if (flags.promOut) await writeTextfile(flags.promOut, await gauges.metrics());
      if (flags.pushGateway) await pushOutcomeMetrics(flags.pushGateway, gauges, flags.pushGroup);
      if (flags.html) await writeFile(flags.html, renderOutcomeReport(run));
      await printJson(run, flags.out);
      for (const alert of run.comparison.alerts) process.stderr.write(`ALERT ${alert}\n`);
      if (run.comparison.alerts.length > 0) process.exitCode = 1;
    });

  addDataOptions(program.command("drift").description("a model version's training profile vs data: an events file (offline) or a running server (--server); JSON on stdout, HTML report"))
    .option("--model <dir>", "offline: model directory (as written by train or downloaded from the registry)")
    .option("--registry-model <name>", "offline: take the version from the registry instead (FUNNEL_REGISTRY, ...)")
    .option("--ref <alias|version>", "with --registry-model: alias or version number", "production")
    .option("--server <host:port>", "online: ask a running server (ModelStatusService/GetDrift) instead of reading events")
    .option("--server-model <name>", "with --server: only this registered model", "")
    .option("--deadline-ms <n>", "with --server: call deadline", int("--deadline-ms"), 10_000)
    .option("--watch <psi>", "PSI from which a feature is flagged to watch", num("--watch"), 0.1)
    .option("--drift <psi>", "PSI from which a feature counts as drifted", num("--drift"), 0.25)
    .option("--min-observations <n>", "offline: fewest live counts of a feature before its PSI is reported", int("--min-observations"), 100)
    .option("--report <file>", "HTML drift report to write", "drift-report.html")
    .option("--out <file>", "also write the JSON here")
    .action(
      async (
        flags: DataFlags & { model?: string; registryModel?: string; ref: string; server?: string; serverModel: string; deadlineMs: number; watch: number; drift: number; minObservations: number; report: string; out?: string },
      ) => {
        if (!(flags.watch > 0 && flags.watch < flags.drift)) throw new InvalidArgumentError(`--watch (${flags.watch}) must be positive and below --drift (${flags.drift})`);
        const thresholds = { watch: flags.watch, drift: flags.drift };
        if (flags.server) {
          const models = await serverDrift(flags.server, flags.serverModel, flags.deadlineMs);
          await printJson(await writeDriftResult(models, { source: `server ${flags.server}`, thresholds, report: flags.report }), flags.out);
          return;
        }
        const source = dataSource(flags);
        if (!source) throw new InvalidArgumentError("drift needs --server <host:port>, or --data <file...> (or --generate) with --model <dir> or --registry-model <name>");
        if (Boolean(flags.model) === Boolean(flags.registryModel)) throw new InvalidArgumentError("offline drift needs exactly one of --model <dir> and --registry-model <name>");
        const dataset = await loadDataset(source as Parameters<typeof loadDataset>[0], { progress: flags.progress, strict: flags.strict });
        let dir = flags.model;
        let temp: string | undefined;
        let name = flags.model ? path.basename(path.resolve(flags.model)) : flags.registryModel!;
        let version = "";
        try {
          if (flags.registryModel) {
            temp = await mkdtemp(path.join(os.tmpdir(), "funnel-drift-"));
            const registry = registryFromConfig(readRegistryConfig(process.env));
            const downloaded = await registry.download(flags.registryModel, flags.ref, path.join(temp, "model"));
            dir = downloaded.dir;
            name = flags.registryModel;
            version = String(downloaded.version.version);
          }
          const drift = await offlineDrift(dir!, dataset, { name, version, minObservations: flags.minObservations, progress: flags.progress });
          if (!drift.available) process.stderr.write(`drift unavailable: ${drift.unavailableReason}\n`);
          const what = `${flags.registryModel ? `${name} version ${version}` : dir} vs ${dataset.source}`;
          await printJson(await writeDriftResult([drift], { source: what, thresholds, report: flags.report }), flags.out);
        } finally {
          if (temp) await rm(temp, { recursive: true, force: true });
        }
      },
    );

  addTrainingOptions(program.command("retrain").description("train a candidate on fresh events, gate it against production on the same holdout, publish it only if every gate passes"))
    .requiredOption("--data <path...>", "event files or directories of them (CSV with header or JSONL)")
    .option("--items <file>", "item attribute table")
    .option("--user-attributes <file>", "user attribute table")
    .option("--since <time>", "fresh window start (ISO 8601, inclusive), or an age before now: 7d, 12h", isoTime("--since"))
    .option("--until <time>", "fresh window end (ISO 8601, exclusive), or an age before now", isoTime("--until"))
    .option("--holdout <x>", "latest share of the window's events held out to score candidate and production", num("--holdout"), 0.15)
    .option("--seed <n>", "seed (split, initialisation)", int("--seed"))
    .option("--out <dir>", "work directory: candidate/, production/, retrain-report.{json,html}", "runs/retrain")
    .option("--name <name>", "registered model name")
    .option("--salt <salt>", "salt for user-id pseudonyms (default: FUNNEL_PSEUDONYM_SALT; must match production's)")
    .option("--metric-tolerance <x>", "largest relative drop below production on recall@10 and ndcg@10", num("--metric-tolerance"), DEFAULT_GATE_THRESHOLDS.metricTolerance)
    .option("--parity-tolerance <x>", "largest |ONNX − tfjs| embedding difference", num("--parity-tolerance"), DEFAULT_GATE_THRESHOLDS.parityTolerance)
    .option("--max-model-mb <x>", "size budget of both ONNX towers, MiB", num("--max-model-mb"), DEFAULT_GATE_THRESHOLDS.maxModelBytes / 1024 / 1024)
    .option("--max-p99-ms <x>", "absolute p99 guard of a single-user embedding in the runtime, ms", num("--max-p99-ms"), DEFAULT_GATE_THRESHOLDS.maxP99Ms)
    .option("--max-p50-ratio <x>", "largest candidate/production ratio of p50, timed interleaved in one process", num("--max-p50-ratio"), DEFAULT_GATE_THRESHOLDS.maxP50Ratio)
    .option("--max-p99-ratio <x>", "largest candidate/production ratio of p99, timed interleaved in one process", num("--max-p99-ratio"), DEFAULT_GATE_THRESHOLDS.maxP99Ratio)
    .option("--latency-calls <n>", "single-user embedding calls timed per version (interleaved with production's)", int("--latency-calls"), DEFAULT_LATENCY_CALLS)
    .option("--breaking-change <reason>", "declare an intended change of embedding dimension or feature contract")
    .option("--no-progress", "no progress bars")
    .action(async (flags: TrainFlags & RetrainFlags) => {
      const config = await runConfigFrom({ ...flags, generate: false });
      const report = await runRetrain({
        config,
        data: { paths: flags.data ?? [], itemsFile: flags.items, usersFile: flags.userAttributes },
        since: flags.since,
        until: flags.until,
        holdout: flags.holdout,
        out: flags.out ?? "runs/retrain",
        registry: registryFromConfig(readRegistryConfig(process.env)),
        salt: salt(flags.salt),
        gitCommit: gitCommit(),
        thresholds: {
          metricTolerance: flags.metricTolerance,
          parityTolerance: flags.parityTolerance,
          maxModelBytes: flags.maxModelMb * 1024 * 1024,
          maxP99Ms: flags.maxP99Ms,
          maxP50Ratio: flags.maxP50Ratio,
          maxP99Ratio: flags.maxP99Ratio,
        },
        breakingChange: flags.breakingChange,
        latencyCalls: flags.latencyCalls,
        progress: flags.progress,
      });
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      process.stderr.write(`${formatGateTable(report.gates)}\nreport: ${report.report.html}\n`);
      // 2, not 1: a scheduler (the CronJob) tells "the candidate was refused" from "retrain crashed".
      if (!report.passed) process.exitCode = 2;
    });

  addTrainingOptions(
    addDataOptions(
      program
        .command("sweep")
        .description("train one model per combination of the listed values (default: dim 64/128/256 × lr 1e-3/1e-4/1e-5); print a table and write JSON"),
    ),
  )
    .option("--dims <list>", "comma-separated dims", (v) => v.split(",").map(int("--dims")))
    .option("--lrs <list>", "comma-separated learning rates", (v) => v.split(",").map(num("--lrs")))
    .option("--sequence-lengths <list>", "comma-separated history lengths", (v) => v.split(",").map(int("--sequence-lengths")))
    .option("--task-mixes <list>", "comma-separated shares of the next-items task", (v) => v.split(",").map(num("--task-mixes")))
    .option("--dropouts <list>", "comma-separated dropout rates", (v) => v.split(",").map(num("--dropouts")))
    .option("--weight-decays <list>", "comma-separated weight decays", (v) => v.split(",").map(num("--weight-decays")))
    .option("--batch-sizes <list>", "comma-separated batch sizes", (v) => v.split(",").map(int("--batch-sizes")))
    .option("--patiences <list>", "comma-separated early-stopping patiences", (v) => v.split(",").map(int("--patiences")))
    .option("--out <file>", "sweep results JSON (rewritten after every run)", "sweep.json")
    .action(async (flags: TrainFlags & SweepFlags & { out: string }) => {
      const { out, dims, lrs, sequenceLengths, taskMixes, dropouts, weightDecays, batchSizes, patiences, ...rest } = flags;
      const config = await runConfigFrom({ ...rest, ...(dataSource(rest) ? {} : { generate: true, users: rest.users ?? 2000 }) });
      const dataset = await loadDataset(config.data, { progress: flags.progress, strict: flags.strict });
      const grid = {
        dim: dims,
        learningRate: lrs,
        sequenceLength: sequenceLengths,
        taskMix: taskMixes,
        dropout: dropouts,
        weightDecay: weightDecays,
        batchSize: batchSizes,
        patience: patiences,
      };
      const defined = Object.fromEntries(Object.entries(grid).filter(([, v]) => v !== undefined));
      const { rows, best } = await runSweep(config, dataset, { grid: defined, out, progress: flags.progress });
      process.stdout.write(`${formatSweepTable(rows)}\nbest by validation recall@10: ${describeSweep(best.settings)}\nwrote ${out}\n`);
    });

  addTrainingOptions(addDataOptions(program.command("reference").description("tfjs two-tower, the PyTorch reference and the baselines on one split (JSON)")))
    .option("--python <exe>", "Python with torch", "python3")
    .option("--torch-threads <n>", "PyTorch threads", int("--torch-threads"), 1)
    .option("--out <file>", "also write the JSON here")
    .action(async (flags: TrainFlags & { python: string; torchThreads: number; out?: string }) => {
      const { out, ...rest } = flags;
      const config = await runConfigFrom(rest);
      const dataset = await loadDataset(config.data, { progress: flags.progress, strict: flags.strict });
      const run = await trainAndEvaluate(config, dataset, { progress: flags.progress });
      // The PyTorch side picks its epoch on validation and is scored on the selection task's test (no refit): a
      // refit task has no validation to pick on.
      const selection = run.selectionTask;
      const torch = await runTorchReference(
        { task: selection, trainOptions: run.trainOptions, towerConfig: towerConfigFromSpec(selection.spec, modelOptionsOf(config)) },
        { python: flags.python, threads: flags.torchThreads },
      );
      if (!torch.available) process.stderr.write(`PyTorch reference skipped: ${torch.reason}\n`);
      const table = (part: "test" | "validation") => ({
        "two-tower (tfjs)": run[part].model,
        ...(torch.available ? { "two-tower (PyTorch reference, no refit)": torch[part] } : {}),
        popularity: run[part].baselines.popularity,
        "item-kNN": run[part].baselines.itemKnn,
        EASE: run[part].baselines.ease,
      });
      const result = {
        data: dataset.source,
        protocol: protocolOf(run),
        coverage: coverage(run.task.test, run.test.model),
        test: table("test"),
        intervals: run.test.intervals,
        baselineParams: run.baselineTuning.params,
        warnings: run.warnings,
        validation: table("validation"),
        tfjs: { bestEpoch: run.result.bestEpoch, selectedOn: run.result.selectedOn, epochs: run.result.epochs.length },
        torch: { available: torch.available, ...(torch.reason ? { reason: torch.reason } : {}), version: torch.version, bestEpoch: torch.bestEpoch, epochs: torch.epochs },
        params: run.trainOptions,
      };
      run.result.model.dispose();
      await printJson(result, out);
    });

  program
    .command("bench")
    .description("training throughput: tfjs two-tower vs a PyTorch CPU reference of the same model (JSON)")
    .option("--users <n>", "generated users for the batches", int("--users"), DEFAULT_BENCHMARK_OPTIONS.users)
    .option("--dim <n>", "embedding dimension", int("--dim"), DEFAULT_BENCHMARK_OPTIONS.dim)
    .option("--batch-size <n>", "batch size", int("--batch-size"), DEFAULT_BENCHMARK_OPTIONS.batchSize)
    .option("--steps <n>", "timed steps", int("--steps"), DEFAULT_BENCHMARK_OPTIONS.steps)
    .option("--python <exe>", "Python with torch", DEFAULT_BENCHMARK_OPTIONS.python)
    .option("--no-kernels", "skip the per-kernel timings")
    .option("--memory-users <n>", "users of the per-epoch memory run", int("--memory-users"), DEFAULT_MEMORY_BENCHMARK_OPTIONS.users)
    .option("--memory-epochs <n>", "epochs of the per-epoch memory run", int("--memory-epochs"), DEFAULT_MEMORY_BENCHMARK_OPTIONS.epochs)
    .option("--no-memory", "skip the per-epoch peak RSS run")
    .option("--out <file>", "also write the JSON here")
    .action(async (flags: { users: number; dim: number; batchSize: number; steps: number; python: string; kernels: boolean; memory: boolean; memoryUsers: number; memoryEpochs: number; out?: string }) => {
      const throughput = await runTrainingBenchmark({ ...DEFAULT_BENCHMARK_OPTIONS, ...flags });
      // Peak RSS per epoch: growth across epochs means something is retained (it was: see assignValues).
      const memory = flags.memory ? await runMemoryBenchmark({ users: flags.memoryUsers, epochs: flags.memoryEpochs, seed: DEFAULT_MEMORY_BENCHMARK_OPTIONS.seed }) : undefined;
      await printJson({ ...throughput, ...(memory ? { memory } : {}) }, flags.out);
    });

  program
    .command("bench-memory")
    .description("peak RSS and live tensors per epoch of a training run on generated data (JSON)")
    .option("--users <n>", "generated users (7000 ≈ 100k interactions)", int("--users"), DEFAULT_MEMORY_BENCHMARK_OPTIONS.users)
    .option("--epochs <n>", "epochs (all run: no early stop)", int("--epochs"), DEFAULT_MEMORY_BENCHMARK_OPTIONS.epochs)
    .option("--seed <n>", "seed", int("--seed"), DEFAULT_MEMORY_BENCHMARK_OPTIONS.seed)
    .option("--parallel-towers", "train the towers in worker threads")
    .option("--no-parallel-towers", "train both towers in one thread")
    .action(async (flags: { users: number; epochs: number; seed: number; parallelTowers?: boolean }) => {
      const result = await runMemoryBenchmark({ ...flags });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });

  addTextClassifierCommands(program, { registry: () => registryFromConfig(readRegistryConfig(process.env)), gitCommit });

  return program;
}

// npm runs workspace scripts inside training/; relative paths on the command line mean the caller's directory.
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
