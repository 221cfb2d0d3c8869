import path from "node:path";
import type { ModelManifest } from "@funnel/registry";
import {
  DEVELOPMENT_PSEUDONYM_SALT,
  type ItemNeighboursFile,
  type PolicyWeights,
  pseudonymiseUserId,
  pseudonymSaltFingerprint,
  pseudonymsWith,
  SERVED_POLICY_FORMAT,
  type ServedPolicyFile,
} from "@funnel/two-tower";
import { fingerprintEvents } from "../data/index.js";
import {
  type BaselineMetrics,
  type BaselineName,
  type BaselineTuning,
  collectPerUser,
  compareRankers,
  evaluateRetrieval,
  type FittedBaselines,
  fitBaselines,
  type PerUserMetrics,
  type RankerComparison,
  similarUserAccuracy,
  recommendationBias,
  type RecommendationBias,
  type RetrievalMetrics,
  scoreBaselines,
  tuneBaselines,
  type UserHitsListener,
  USER_METRIC_KEYS,
  evaluateServedPolicy,
  type FittedPolicyWeights,
  fitPolicyWeights,
  type PolicyContext,
  servedPolicyModel,
} from "../evaluation/index.js";
import { writeModelDirectory } from "../export/write-model-directory.js";
import { buildInteractionStats, type ConversionHeadEvaluation, renderConversionReport, trainConversionHead } from "../conversion/index.js";
import { aggregateUserFeatures, buildFeatureProfile, encodeUsers, type FeatureSpec, type RawUserFeatures, type UserTensors } from "@funnel/two-tower";
import { buildRetrievalTask, type RetrievalContext, type RetrievalTask } from "../model/build-retrieval-task.js";
import { initBackend, type BackendInfo } from "../model/init-backend.js";
import { type TrainEpochLog, trainTwoTower, type TrainOptions, type TrainResult } from "../model/train-two-tower.js";
import { towerConfigFromSpec, type TwoTowerConfig, type TwoTowerModel } from "../model/two-tower-model.js";
import { projectEmbeddings2d, renderRunReport } from "../report/index.js";
import { loadDataset, type Dataset } from "./load-dataset.js";
import type { RunConfig } from "./run-config.js";
import { trainingProgress } from "./training-progress.js";
import { BASELINE_LABELS, BASELINES } from "../evaluation/index.js";

/** Neighbours per query user in similar-user accuracy. */
const SIMILAR_USER_K = 10;

export interface RunTrainingOptions {
  /** Secret salt for pseudonymising user ids in embeddings/users.ids.txt. */
  salt: string;
  gitCommit?: string | undefined;
  progress?: boolean;
  log?: (line: string) => void;
  /** Events already loaded (and e.g. cut to a time window by retrain) instead of reading `config.data`. */
  dataset?: Dataset;
}

export interface TrainedRun {
  config: RunConfig;
  backend: BackendInfo;
  /**
   * The task whose test is scored and whose spec and items the shipped model uses: with refit, built on train +
   * validation (validation empty); otherwise the selection task itself.
   */
  task: RetrievalTask;
  /** Train → validation: where the epoch and the baselines' values are chosen. */
  selectionTask: RetrievalTask;
  towerConfig: TwoTowerConfig;
  trainOptions: TrainOptions;
  /** The selection run's epochs and best epoch; `model` is the shipped model (the refit one with refit). */
  result: TrainResult;
  /** With refit: the retraining on train + validation for `result.bestEpoch` epochs. */
  refit?: { epochs: TrainEpochLog[]; trainPairs: number };
  test: {
    model: RetrievalMetrics;
    baselines: BaselineMetrics;
    similarUserAccuracy?: number;
    bias: RecommendationBias;
    /** Per-user values on the test users, in one order for all rankers: what other rankers (a served policy) pair with. */
    perUser: { model: PerUserMetrics; baselines: Record<BaselineName, PerUserMetrics> };
    /** Paired bootstrap intervals of model − each baseline. */
    intervals: RankerComparison;
  };
  validation: { model: RetrievalMetrics; baselines: BaselineMetrics };
  /** The baselines' values chosen on validation, with every grid point's validation figures. */
  baselineTuning: Omit<BaselineTuning, "fitted">;
  /** The baselines test was scored with (fitted on train + validation with refit). */
  fittedBaselines: FittedBaselines;
  /** What RecommendItems serves: weights fitted on validation, figures on test (metrics.json `served`). */
  served: ServedPolicyRun;
  /** Everything about the baselines, for a sweep's next run on the same data, split and protocol. */
  baselineEvaluation: BaselineEvaluation;
  /** Warnings printed with the evaluation (too few users scored, ...), kept in metrics.json. */
  warnings: string[];
}

/** What a sweep can reuse between runs on the same data, split and protocol: the baselines do not depend on the model. */
export interface BaselineEvaluation {
  tuning: BaselineTuning;
  validation: BaselineMetrics;
  fitted: FittedBaselines;
  test: { metrics: BaselineMetrics; perUser: Record<BaselineName, PerUserMetrics> };
}

/** The served policy of a run: its weights (fitted on validation), neighbour list, test figures and intervals. */
export interface ServedPolicyRun {
  weights: PolicyWeights;
  neighbours: { method: string; k: number } | null;
  fit: FittedPolicyWeights;
  test: RetrievalMetrics;
  perUser: PerUserMetrics;
  /** Paired bootstrap intervals of served − the bare two-tower and − each baseline, on the same test users. */
  intervals: RankerComparison;
}

export interface TrainAndEvaluateOptions extends Omit<RunTrainingOptions, "salt"> {
  /** Salt of the pseudonyms the user-id buckets hash (default: the development salt; `train` passes its own). */
  salt?: string;
  onEpochEnd?: (epoch: number) => void;
  /** Baselines evaluated by an earlier run on the same dataset, split and protocol config. */
  baselineEvaluation?: BaselineEvaluation;
}

export interface RunSummary {
  out: string;
  manifest: ModelManifest;
  headlineMetrics: Record<string, number>;
  run: TrainedRun;
}

/** What fixes the towers' shapes besides the feature spec, from the run config. */
export function modelOptionsOf(config: RunConfig): Parameters<typeof towerConfigFromSpec>[1] {
  const m = config.model;
  return { dim: m.dim, hidden: m.hidden, embedding: m.embedding, architecture: m.architecture, userContext: m.userContext };
}

export function trainOptionsOf(config: RunConfig): TrainOptions {
  return { ...config.training, seed: config.seed };
}

/** The retrieval task of a run config's split (with `refit`: train + validation against test). */
function taskOf(config: RunConfig, dataset: Dataset, salt: string | undefined, refit: boolean): RetrievalTask {
  return buildRetrievalTask(dataset.events, {
    strategy: config.split.strategy,
    ratios: config.split.ratios,
    holdoutLast: config.split.holdoutLast,
    refit,
    seed: config.seed,
    sequenceLength: config.model.sequenceLength,
    itemAttributes: dataset.itemAttributes,
    ...(dataset.userAttributes ? { userAttributes: dataset.userAttributes } : {}),
    userIdBuckets: config.model.userIdBuckets,
    pseudonymOf: pseudonymsWith(salt ?? DEVELOPMENT_PSEUDONYM_SALT),
  });
}

/**
 * The protocol of every command (train, evaluate, sweep, reference): split; train the model with its epoch chosen
 * on validation; tune the baselines on validation; with refit (the default), retrain the model for the chosen
 * number of epochs and refit every baseline with its chosen values on train + validation; score test; put a paired
 * bootstrap interval on each model − baseline difference.
 */
export async function trainAndEvaluate(
  config: RunConfig,
  dataset: Dataset,
  options: TrainAndEvaluateOptions = {},
): Promise<TrainedRun> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const backend = await initBackend();
  log(`tfjs backend: ${backend.name} (${backend.provider}${backend.name === "wasm" ? `, simd ${backend.wasmSimd}, threads ${backend.wasmThreads}` : ""})`);
  const refit = config.evaluation.refit;
  const selectionTask = taskOf(config, dataset, options.salt, false);
  const c = selectionTask.counts;
  log(
    `split ${splitName(config)}: ${c.train}/${c.validation}/${c.test} events, ` +
      `${c.trainPairs} training pairs, ${selectionTask.itemIds.length} items, ${selectionTask.test.userIds.length} test users`,
  );
  const selectionConfig = towerConfigFromSpec(selectionTask.spec, modelOptionsOf(config));
  const trainOptions = trainOptionsOf(config);
  const selection = await fit(selectionConfig, selectionTask, trainOptions, options, (model) => {
    const m = evaluateContext(model, selectionTask, selectionTask.validation);
    return Object.fromEntries(METRIC_KEYS.map((k) => [`validation ${k}`, m[k]]));
  });
  log(`best epoch ${selection.bestEpoch} of ${selection.epochs.length} by ${selection.selectedOn}${selection.stoppedEarly ? " (stopped early)" : ""}`);
  const validationModel = evaluateContext(selection.model, selectionTask, selectionTask.validation);

  const baselines = options.baselineEvaluation ?? (await evaluateBaselinesByProtocol(config, selectionTask, refit ? () => taskOf(config, dataset, options.salt, true) : undefined, log));

  // The served policy's weights are chosen on validation, with the model and the baselines that selection fitted on
  // train (before a refit replaces them); test then scores them with the shipped model and baselines.
  const { neighbours: method, neighboursK } = config.servedPolicy;
  log(`fitting the served policy's blend weights on validation (item neighbours: ${method === "none" ? "none" : `${method}, top ${neighboursK} per item`})`);
  const servedFit = await fitPolicyWeights(
    policyModelOf(selection.model, selectionTask, baselines.tuning.fitted, config),
    policyContextOf(selection.model, selectionTask.validation),
  );

  let task = selectionTask;
  let towerConfig = selectionConfig;
  let result = selection;
  let refitLog: TrainedRun["refit"];
  if (refit) {
    task = taskOf(config, dataset, options.salt, true);
    towerConfig = towerConfigFromSpec(task.spec, modelOptionsOf(config));
    log(`refit: retraining for ${selection.bestEpoch} epochs on train + validation (${task.counts.trainPairs} training pairs)`);
    const epochs = selection.bestEpoch;
    // The trainer keeps the epoch with the best validation metric; a refit has no validation (it was merged into
    // train), so the epoch number stands in for the metric and the last epoch is the one kept.
    const refitted = await fit(towerConfig, task, { ...trainOptions, epochs, patience: epochs + 1, selectOn: "recall@10" }, options, (_model, epoch) => ({ "validation recall@10": epoch }), true);
    selection.model.dispose();
    result = { ...selection, model: refitted.model };
    refitLog = { epochs: refitted.epochs.map(({ "validation recall@10": _epoch, validationLoss: _loss, ...rest }) => rest as TrainEpochLog), trainPairs: task.counts.trainPairs };
  }
  const model = result.model;
  const testHits = new Map<number, number>();
  const modelPerUser = collectPerUser();
  const testModel = evaluateContext(model, task, task.test, (user, hits, relevant, values) => {
    testHits.set(user, hits);
    modelPerUser.onUser(user, hits, relevant, values);
  });
  const intervals = compareRankers(modelPerUser.perUser, baselines.test.perUser, { resamples: config.evaluation.bootstrapResamples, seed: config.seed });
  const testPolicy = policyModelOf(model, task, baselines.fitted, config);
  const servedPerUser = collectPerUser();
  const servedTest = await evaluateServedPolicy(testPolicy, policyContextOf(model, task.test), servedFit.weights, servedPerUser.onUser);
  const served: ServedPolicyRun = {
    weights: servedFit.weights,
    neighbours: testPolicy.neighboursFile ? { method: testPolicy.neighboursFile.method, k: testPolicy.neighboursFile.k } : null,
    fit: servedFit,
    test: servedTest,
    perUser: servedPerUser.perUser,
    intervals: compareRankers(
      servedPerUser.perUser,
      { "two-tower": modelPerUser.perUser, ...baselines.test.perUser },
      { resamples: config.evaluation.bootstrapResamples, seed: config.seed },
    ),
  };
  const test = {
    model: testModel,
    baselines: baselines.test.metrics,
    similarUserAccuracy: dataset.segments ? segmentAccuracy(model, task.test, dataset.segments, config.seed) : undefined,
    bias: recommendationBias(testHits, biasDimensions(task, dataset), config.bias),
    perUser: { model: modelPerUser.perUser, baselines: baselines.test.perUser },
    intervals,
  };
  const validation = { model: validationModel, baselines: baselines.validation };
  const warnings = [...coverageWarnings(testModel.users, config.evaluation.minScoredUsers, config.split.strategy), ...gridEdgeNotes(baselines.tuning, config.baselines)];
  const { fitted: _fitted, ...baselineTuning } = baselines.tuning;
  const run: TrainedRun = {
    config,
    backend,
    task,
    selectionTask,
    towerConfig,
    trainOptions,
    result,
    ...(refitLog ? { refit: refitLog } : {}),
    test,
    validation,
    baselineTuning,
    fittedBaselines: baselines.fitted,
    baselineEvaluation: baselines,
    served,
    warnings,
  };
  log(formatEvaluation(run));
  return run;
}

/** The served policy's inputs for one model and the baselines fitted beside it (same interactions). */
function policyModelOf(model: TwoTowerModel, task: RetrievalTask, fitted: FittedBaselines, config: RunConfig) {
  return servedPolicyModel({
    itemIds: task.itemIds,
    itemEmbeddings: model.embedItems(task.items),
    dim: model.config.dim,
    itemPopularity: fitted.itemPopularity,
    fits: { ease: fitted.ease, itemKnn: fitted.itemKnn, labels: neighbourLabels(fitted.params) },
    method: config.servedPolicy.neighbours,
    neighboursK: config.servedPolicy.neighboursK,
  });
}

function policyContextOf(model: TwoTowerModel, context: RetrievalContext): PolicyContext {
  return { userEmbeddings: model.embedUsers(context.users), seen: context.seen, positives: context.positives };
}

function neighbourLabels(p: FittedBaselines["params"]): { ease: string; itemKnn: string } {
  return { ease: `ease λ ${p.easeLambda}`, itemKnn: `item-knn shrink ${p.knnShrink}` };
}

/** Trains one model on a task's training data with progress bars; `epochMetrics` feeds the epoch selection. */
async function fit(
  towerConfig: TwoTowerConfig,
  task: RetrievalTask,
  trainOptions: TrainOptions,
  options: TrainAndEvaluateOptions,
  epochMetrics: (model: TwoTowerModel, epoch: number) => Record<string, number>,
  refit = false,
): Promise<TrainResult> {
  const progress = trainingProgress(trainOptions.epochs, { enabled: options.progress ?? true, ...(refit ? { refit, label: "refit" } : {}) });
  let epoch = 0;
  try {
    return await trainTwoTower(towerConfig, task.training, trainOptions, {
      ...progress,
      onEpochEnd: (epochLog) => {
        progress.onEpochEnd?.(epochLog);
        options.onEpochEnd?.(epochLog.epoch);
      },
      epochMetrics: (model) => epochMetrics(model, ++epoch),
    });
  } finally {
    progress.stop();
  }
}

/**
 * The baselines under the run's protocol: tuned on validation (fitted on train), then, with refit, refitted with
 * the chosen values on train + validation (`refitTask`); scored on the test of the task the model is scored on.
 */
export async function evaluateBaselinesByProtocol(
  config: RunConfig,
  selectionTask: RetrievalTask,
  refitTask: (() => RetrievalTask) | undefined,
  log: (line: string) => void,
): Promise<BaselineEvaluation> {
  const grid = { easeLambda: config.baselines.easeLambda, knnShrink: config.baselines.knnShrink, knnNeighbours: config.baselines.knnNeighbours };
  log(`tuning baselines on validation: EASE λ ${grid.easeLambda.join("/")}, item-kNN shrink ${grid.knnShrink.join("/")} × neighbours ${grid.knnNeighbours.map((n) => n || "all").join("/")}`);
  const tuning = await tuneBaselines(selectionTask.training.train.pairs, selectionTask.itemIds.length, selectionTask.validation, grid, log);
  const p = tuning.params;
  log(
    `baselines: EASE λ ${p.easeLambda}, item-kNN shrink ${p.knnShrink}, neighbours ${p.knnNeighbours || "all"}` +
      (tuning.tuned ? ` (chosen on ${tuning.validationUsers} validation users)` : " (not tuned: validation scored no user; defaults)"),
  );
  const validation = scoreBaselines(tuning.fitted, selectionTask.validation).metrics;
  let fitted = tuning.fitted;
  let testTask = selectionTask;
  if (refitTask) {
    testTask = refitTask();
    log("refit: baselines refitted with these values on train + validation");
    fitted = await fitBaselines(testTask.training.train.pairs, testTask.itemIds.length, p);
  }
  return { tuning, validation, fitted, test: scoreBaselines(fitted, testTask.test) };
}

/**
 * A tuned value at the end of its grid may be short of the best: say so (with the grid to widen) rather than
 * present it as the optimum. Smallest values count only when the grid starts above 0.
 */
export function gridEdgeNotes(tuning: Pick<BaselineTuning, "tuned" | "params">, grid: { easeLambda: number[]; knnShrink: number[]; knnNeighbours: number[] }): string[] {
  if (!tuning.tuned) return [];
  const notes: string[] = [];
  const edge = (name: string, flag: string, value: number, values: number[]): void => {
    if (values.length < 2) return;
    const sorted = [...values].sort((a, b) => a - b);
    if (value === sorted.at(-1)) notes.push(`${name} ${value} is the largest value tried: the best may be larger (widen ${flag})`);
    else if (value === sorted[0] && value > 0) notes.push(`${name} ${value} is the smallest value tried: the best may be smaller (widen ${flag})`);
  };
  edge("EASE λ", "--ease-lambda", tuning.params.easeLambda, grid.easeLambda);
  edge("item-kNN shrink", "--knn-shrink", tuning.params.knnShrink, grid.knnShrink);
  return notes;
}

/** The figures are not worth comparing below a few hundred users: say so beside them. */
export function coverageWarnings(usersScored: number, minUsers: number, strategy: string): string[] {
  if (usersScored >= minUsers) return [];
  return [
    `only ${usersScored} test users could be scored (fewer than ${minUsers}): differences between rankers are mostly noise; ` +
      (strategy === "leave-last" ? "use more data" : "use more data, or --split leave-last (scores every user with more than --holdout-last interactions)"),
  ];
}

const METRIC_KEYS = USER_METRIC_KEYS;

/** Who was scored and who was not, for one evaluation context: printed with the metrics and kept in metrics.json. */
export function coverage(context: RetrievalContext, metrics: RetrievalMetrics): Record<string, number> {
  return {
    usersScored: metrics.users,
    usersWithoutHistory: context.usersWithoutHistory,
    usersWithOnlySeenPositives: context.positives.size - metrics.users,
    positivesOutsideCatalogue: context.positivesOutsideCatalogue,
  };
}

/** What metrics.json, the report and the summary call the protocol: split, refit, how baselines were chosen. */
export function protocolOf(run: Pick<TrainedRun, "config" | "result" | "baselineTuning" | "refit">): Record<string, unknown> {
  const t = run.baselineTuning;
  return {
    split: splitName(run.config),
    refit: run.config.evaluation.refit,
    epochSelectedOn: run.result.selectedOn,
    bestEpoch: run.result.bestEpoch,
    baselinesTunedOn: t.tuned ? `validation (${t.validationUsers} users)` : "nothing (validation scored no user): defaults",
    intervals: `per-user paired bootstrap, ${run.config.evaluation.bootstrapResamples} resamples, 95 %`,
  };
}

/**
 * The test metrics of the model beside every baseline, with who was scored, the paired interval of each
 * difference and its verdict: the run's summary on stderr (and what `evaluate` prints, in the same form).
 */
export function formatEvaluation(
  run: Pick<TrainedRun, "test" | "task" | "config" | "warnings"> & { baselineTuning?: TrainedRun["baselineTuning"]; served?: ServedPolicyRun },
): string {
  const rows: [string, RetrievalMetrics][] = [
    ...(run.served ? [["served policy", run.served.test] as [string, RetrievalMetrics]] : []),
    ["two-tower", run.test.model],
    ...BASELINES.map((b): [string, RetrievalMetrics] => [BASELINE_LABELS[b] + baselineParamsLabel(b, run.baselineTuning?.params), run.test.baselines[b]]),
  ];
  const header = ["test", ...METRIC_KEYS, "users"];
  const body = rows.map(([name, m]) => [name, ...METRIC_KEYS.map((k) => m[k].toFixed(4)), String(m.users)]);
  const c = coverage(run.task.test, run.test.model);
  return [
    `test (${splitName(run.config)}${run.config.evaluation.refit ? ", refit on train + validation" : ""}): ${c.usersScored} users scored; not scored: ${c.usersWithoutHistory} without history (cold start), ` +
      `${c.usersWithOnlySeenPositives} whose held-out items were all already in their history; ${c.positivesOutsideCatalogue} held-out interactions with items outside the catalogue`,
    formatTable(header, body),
    ...formatIntervals(run.test.intervals, "two-tower"),
    ...(run.served ? [servedWeights(run.served), ...formatIntervals(run.served.intervals, "served policy")] : []),
    ...run.warnings.map((w) => `warning: ${w}`),
  ].join("\n");
}

/** The served policy's weights, where they were fitted, and its neighbour source. */
function servedWeights(served: ServedPolicyRun): string {
  const weights = Object.entries(served.weights)
    .map(([s, w]) => `${s} ${w.toFixed(2)}`)
    .join(", ");
  return (
    `served policy = what RecommendItems answers: weights ${weights} (best of ${served.fit.compared} on ${served.fit.validation.users} validation users, recall@10 ${served.fit.validation["recall@10"].toFixed(4)}); ` +
    `item neighbours ${served.neighbours ? `${served.neighbours.method}, top ${served.neighbours.k}` : "none"}`
  );
}

function baselineParamsLabel(b: BaselineName, params: TrainedRun["baselineTuning"]["params"] | undefined): string {
  if (!params) return "";
  if (b === "ease") return ` (λ ${params.easeLambda})`;
  if (b === "itemKnn") return ` (shrink ${params.knnShrink}, ${params.knnNeighbours || "all"} nb)`;
  return "";
}

/** Left-aligned first column, right-aligned figures. */
export function formatTable(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  return [line(header), ...body.map(line)].join("\n");
}

/** One line per compared ranker: "two-tower − EASE: recall@10 +0.0123 [−0.0040, +0.0290] tie within noise; ndcg@10 …". */
export function formatIntervals(intervals: RankerComparison, name: string): string[] {
  const signed = (x: number): string => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(4);
  return Object.entries(intervals).map(([other, byMetric]) => {
    const parts = Object.entries(byMetric).map(([metric, i]) => `${metric} ${signed(i!.mean)} [${signed(i!.low)}, ${signed(i!.high)}] ${i!.verdict}`);
    const users = Object.values(byMetric)[0]?.users ?? 0;
    return `${name} − ${BASELINE_LABELS[other as BaselineName] ?? other} (${users} users, 95 % paired bootstrap): ${parts.join("; ")}`;
  });
}

function evaluateContext(model: TwoTowerModel, task: RetrievalTask, context: RetrievalContext, onUser?: UserHitsListener): RetrievalMetrics {
  return evaluateRetrieval({
    userEmbeddings: model.embedUsers(context.users),
    itemEmbeddings: model.embedItems(task.items),
    dim: model.config.dim,
    testPositives: context.positives,
    trainSeen: context.seen,
    ...(onUser ? { onUser } : {}),
  });
}

/** Users with at most this many items in their history count as "new" in the bias check. */
const NEW_USER_MAX_HISTORY = 3;

/**
 * The groups the bias check compares for test users: device (from the encoded tensor, so exactly what the
 * model saw), new vs returning, the latent segment of generated data, and each user attribute column.
 */
function biasDimensions(task: RetrievalTask, dataset: Dataset): Record<string, (user: number) => string | undefined> {
  const context = task.test;
  const devices = task.spec.vocab.device.tokens;
  const dimensions: Record<string, (user: number) => string | undefined> = {
    device: (user) => devices[context.users.device[user]! - 2],
    history: (user) => ((context.seen.get(user)?.size ?? 0) <= NEW_USER_MAX_HISTORY ? `new (≤${NEW_USER_MAX_HISTORY} items)` : "returning"),
  };
  const segments = dataset.segments;
  if (segments) dimensions.segment = (user) => segments.get(context.userIds[user]!);
  const attributes = dataset.userAttributes;
  if (attributes) {
    const names = new Set([...attributes.values()].flatMap((a) => Object.keys(a)));
    for (const name of names) dimensions[name] = (user) => attributes.get(context.userIds[user]!)?.[name];
  }
  return dimensions;
}

function segmentAccuracy(model: TwoTowerModel, context: RetrievalContext, segments: Map<string, string>, seed: number): number {
  return similarUserAccuracy({
    userEmbeddings: model.embedUsers(context.users),
    dim: model.config.dim,
    labels: context.userIds.map((id) => segments.get(id) ?? "unknown"),
    k: SIMILAR_USER_K,
    maxQueries: 2000,
    seed,
  });
}

/** `train`: everything from data to a complete model directory with manifest. */
export async function runTraining(config: RunConfig, options: RunTrainingOptions): Promise<RunSummary> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dataset = options.dataset ?? (await loadDataset(config.data, { progress: options.progress, log }));
  const run = await trainAndEvaluate(config, dataset, options);
  const { task, result, towerConfig, test } = run;
  const model = result.model;

  // Served embeddings use every event we have: the freshest history of each user.
  const ids = task.spec.user.idBuckets > 0 ? { pseudonymOf: pseudonymsWith(options.salt) } : {};
  const { userIds, raw: allUsersRaw, tensors: userTensors } = servedUserRows(dataset, task.spec, ids.pseudonymOf);
  const userEmbeddings = model.embedUsers(userTensors);
  const itemEmbeddings = model.embedItems(task.items);
  // Drift reference: the rows and vectors this version serves from, binned as serving will bin its traffic.
  const featureProfile = buildFeatureProfile({ spec: task.spec, users: userTensors, items: task.items, userEmbeddings, itemEmbeddings, dim: towerConfig.dim });

  log("projecting user embeddings to 2-D for the report");
  const projected = projectEmbeddings2d(userEmbeddings, towerConfig.dim, { seed: config.seed, maxPoints: 1500 });
  const userMap = projected.map((p) => {
    const id = userIds[p.index]!;
    return { x: p.x, y: p.y, segment: dataset.segments?.get(id) ?? "unknown", device: allUsersRaw.get(id)?.device ?? "unknown" };
  });

  const conversion = conversionHeadOf(dataset, () =>
    trainConversionHead(dataset.events, { spec: task.spec, dim: towerConfig.dim, embedUsers: (u) => model.embedUsers(u), seed: config.seed, ...ids }),
  );
  log(conversion.skipped ? `conversion head not shipped: ${conversion.skipped}` : "conversion head trained");
  const headlineMetrics = { ...headline(run), ...conversionHeadline(conversion.trained?.evaluation) };
  const params = {
    model: towerConfig,
    training: run.trainOptions,
    split: config.split,
    /** Refit and bootstrap settings: `evaluate` reads them to score this directory under the same protocol. */
    evaluation: config.evaluation,
    seed: config.seed,
    data: { source: dataset.source, events: dataset.events.length, rowsRejected: dataset.report?.rowsRejected ?? 0 },
    backend: run.backend,
    userIds: "salted SHA-256 pseudonyms (pseudonymiseUserId)",
  };
  const metrics = {
    /**
     * The policy RecommendItems serves (retrieval, similar users, item neighbours, popularity; weights fitted
     * on validation), evaluated through the serving code on the same test users as `test` and `baselines`.
     */
    served: {
      test: run.served.test,
      /** served − two-tower and − each baseline: per-user paired bootstrap, with verdicts. */
      intervals: run.served.intervals,
      weights: run.served.weights,
      neighbours: run.served.neighbours,
      validation: run.served.fit.validation,
      validationBySource: run.served.fit.single,
      combinationsCompared: run.served.fit.compared,
    },
    test: test.model,
    /** The popularity baseline (kept under its old name for readers of earlier metrics.json files). */
    baseline: test.baselines.popularity,
    baselines: test.baselines,
    /** model / baseline per metric and baseline; null where the baseline scored 0. */
    lift: Object.fromEntries(
      BASELINES.map((b) => [b, Object.fromEntries(METRIC_KEYS.map((k) => [k, ratio(test.model[k], test.baselines[b][k])]))]),
    ),
    /** Paired bootstrap intervals of model − baseline on the test users, with verdicts ("ahead", "tie within noise", "behind"). */
    intervals: test.intervals,
    /** How test was produced: split, refit, epoch selection, what the baselines were tuned on. */
    protocol: protocolOf(run),
    /** The baselines' values chosen on validation, and every grid point's validation figures. */
    baselineParams: run.baselineTuning.params,
    baselineTuning: { tuned: run.baselineTuning.tuned, validationUsers: run.baselineTuning.validationUsers, ease: run.baselineTuning.ease, itemKnn: run.baselineTuning.itemKnn },
    ...(run.refit ? { refit: run.refit } : {}),
    warnings: run.warnings,
    validation: run.validation,
    similarUserAccuracy: test.similarUserAccuracy === undefined ? null : { k: SIMILAR_USER_K, label: "segment", value: test.similarUserAccuracy },
    bias: test.bias,
    conversionHead: conversion.trained?.evaluation ?? null,
    ...(conversion.skipped ? { conversionHeadSkipped: conversion.skipped } : {}),
    bestEpoch: result.bestEpoch,
    selectedOn: result.selectedOn,
    stoppedEarly: result.stoppedEarly,
    split: splitName(config),
    counts: task.counts,
    coverage: { test: coverage(task.test, test.model), validation: coverage(run.selectionTask.validation, run.validation.model) },
    testPositivesOutsideCatalogue: task.test.positivesOutsideCatalogue,
    testUsersWithoutHistory: task.test.usersWithoutHistory,
  };
  const reportHtml = renderRunReport({
    title: `Two-tower run "${config.name}": dim ${towerConfig.dim}, ${dataset.source}`,
    params: {
      ...headlineParams(run),
      split: splitName(config),
      embedding_widths: Object.entries(towerConfig.embedding).map(([k, v]) => `${k} ${v}`).join(", "),
      sequence_length: towerConfig.sequenceLength,
      data: dataset.source,
      events: dataset.events.length,
      rows_rejected: dataset.report?.rowsRejected ?? 0,
      best_epoch: result.bestEpoch,
    },
    epochs: result.epochs,
    metrics: {
      served: run.served,
      model: test.model,
      baselines: test.baselines,
      coverage: coverage(task.test, test.model),
      bias: test.bias,
      intervals: test.intervals,
      protocol: protocolOf(run),
      baselineParams: run.baselineTuning.params,
      warnings: run.warnings, ...(test.similarUserAccuracy === undefined ? {} : { similarUserAccuracy: test.similarUserAccuracy }) },
    userMap,
  }).replace("</body>", `${renderConversionReport(conversion.trained?.evaluation, conversion.skipped)}\n</body>`);
  const out = path.resolve(config.out);
  const manifest = await writeModelDirectory(out, {
    name: config.name,
    spec: task.spec,
    config: towerConfig,
    weights: model.getWeights(),
    metrics,
    headlineMetrics,
    params,
    headlineParams: headlineParams(run),
    epochs: result.epochs,
    users: { ids: userIds.map((id) => pseudonymiseUserId(id, options.salt)), embeddings: userEmbeddings },
    items: { ids: task.itemIds, embeddings: itemEmbeddings },
    reportHtml,
    conversionHead: conversion.trained?.head,
    featureProfile,
    interactionStats: buildInteractionStats(dataset.events, (id) => pseudonymiseUserId(id, options.salt)),
    ...(await servedPolicyFiles(run, dataset, log)),
    lineage: {
      dataFingerprint: fingerprintEvents(dataset.events),
      // Serving refuses this version under another salt (its user ids would never match a lookup).
      pseudonymSaltFingerprint: pseudonymSaltFingerprint(options.salt),
      ...(options.gitCommit ? { gitCommit: options.gitCommit } : {}),
      seed: config.seed,
      trainingConfig: config,
    },
  });
  model.dispose();
  return { out, manifest, headlineMetrics, run };
}

/**
 * What the served policy needs in the version directory: the blend weights fitted on validation, and the
 * neighbour list refitted on every event (as the served embeddings are), with the method and K that were
 * evaluated.
 */
async function servedPolicyFiles(
  run: TrainedRun,
  dataset: Pick<Dataset, "events">,
  log: (line: string) => void,
): Promise<{ servedPolicy: ServedPolicyFile; itemNeighbours?: ItemNeighboursFile }> {
  const { config, task, served } = run;
  const validation = served.fit.validation;
  const servedPolicy: ServedPolicyFile = {
    format: SERVED_POLICY_FORMAT,
    weights: served.weights,
    fittedOn: `validation (${splitName(config)}): recall@10 ${validation["recall@10"].toFixed(4)} over ${validation.users} users`,
  };
  const { neighbours: method, neighboursK } = config.servedPolicy;
  if (method === "none") return { servedPolicy };
  const rowOf = new Map(task.itemIds.map((id, row) => [id, row]));
  const histories = new Map<number, Set<number>>();
  const userRow = new Map<string, number>();
  for (const e of dataset.events) {
    const item = rowOf.get(e.itemId);
    if (item === undefined) continue;
    let u = userRow.get(e.userId);
    if (u === undefined) {
      u = userRow.size;
      userRow.set(e.userId, u);
    }
    const set = histories.get(u);
    if (set) set.add(item);
    else histories.set(u, new Set([item]));
  }
  const params = run.baselineTuning.params;
  log(`fitting item neighbours (${method}, top ${neighboursK} per item, the values tuned on validation) on every event for serving`);
  const fitted = await fitBaselines(histories, task.itemIds.length, params);
  const policy = servedPolicyModel({
    itemIds: task.itemIds,
    itemEmbeddings: new Float32Array(0),
    dim: run.towerConfig.dim,
    itemPopularity: fitted.itemPopularity,
    fits: { ease: fitted.ease, itemKnn: fitted.itemKnn, labels: neighbourLabels(params) },
    method,
    neighboursK,
  });
  return { servedPolicy, ...(policy.neighboursFile ? { itemNeighbours: policy.neighboursFile } : {}) };
}

/**
 * The users whose embeddings a model directory stores, in stored order (raw ids sorted), from every event we
 * have: the freshest history of each user. Retrain re-encodes them to check the ONNX towers against these
 * tfjs outputs.
 */
export function servedUserRows(
  dataset: Pick<Dataset, "events" | "userAttributes">,
  spec: FeatureSpec,
  /** With user-id buckets: each record carries its pseudonym, as the served embeddings must. */
  pseudonymOf?: (userId: string) => string,
): { userIds: string[]; raw: Map<string, RawUserFeatures>; tensors: UserTensors } {
  const raw = aggregateUserFeatures(dataset.events, {
    sequenceLength: spec.sequenceLength,
    ...(dataset.userAttributes ? { attributes: dataset.userAttributes } : {}),
    ...(pseudonymOf ? { pseudonymOf } : {}),
  });
  const userIds = [...raw.keys()].sort();
  return { userIds, raw, tensors: encodeUsers(spec, userIds.map((id) => raw.get(id)!)) };
}

/** Flat numbers for the manifest: what the registry shows and promotes on. */
export function headline(run: TrainedRun): Record<string, number> {
  const { model, baselines, similarUserAccuracy: accuracy } = run.test;
  const baseline = baselines.popularity;
  const out: Record<string, number> = {
    "recall@5": model["recall@5"],
    "recall@10": model["recall@10"],
    "recall@20": model["recall@20"],
    "map@10": model["map@10"],
    "ndcg@10": model["ndcg@10"],
    "baseline_recall@10": baseline["recall@10"],
    "itemknn_recall@10": baselines.itemKnn["recall@10"],
    "ease_recall@10": baselines.ease["recall@10"],
    test_users: model.users,
    validation_loss: Math.min(...run.result.epochs.map((e) => e.validationLoss)),
    "validation_recall@10": run.validation.model["recall@10"],
    "served_recall@10": run.served.test["recall@10"],
    "served_ndcg@10": run.served.test["ndcg@10"],
  };
  const lift = ratio(model["recall@10"], baseline["recall@10"]);
  if (lift !== null) out["recall@10_lift"] = lift;
  if (accuracy !== undefined) out["similar_user_accuracy@10"] = accuracy;
  return out;
}

function headlineParams(run: TrainedRun): Record<string, string | number | boolean> {
  const t = run.trainOptions;
  return {
    dim: run.towerConfig.dim,
    hidden: run.towerConfig.hidden,
    epochs: t.epochs,
    batch_size: t.batchSize,
    learning_rate: t.learningRate,
    schedule: t.schedule,
    temperature: t.temperature,
    weight_decay: t.weightDecay,
    dropout: t.dropout,
    extra_negatives: t.extraNegatives,
    logq: t.logQ,
    parallel_towers: t.parallelTowers,
    split: run.config.split.strategy,
    seed: run.config.seed,
    backend: run.backend.name,
  };
}

/**
 * The conversion head only when it can learn something and be measured: data without conversions (or where every
 * event converts) has one label, and a head whose held-out AUC is undefined learned nothing that can be checked.
 */
export function conversionHeadOf<T extends { evaluation: ConversionHeadEvaluation }>(
  dataset: Pick<Dataset, "events">,
  train: () => T | undefined,
): { trained?: T; skipped?: string } {
  const converted = dataset.events.reduce((n, e) => n + (e.converted ? 1 : 0), 0);
  if (converted === 0) return { skipped: "the data has no conversions (no event with converted = 1), so there is nothing to predict" };
  if (converted === dataset.events.length) return { skipped: "every event converts (converted = 1 on all rows), so there is nothing to tell apart" };
  const trained = train();
  if (!trained) return { skipped: "no sessions after the history cutoff for both training and held-out users" };
  if (!Number.isFinite(trained.evaluation.model.auc)) {
    return { skipped: "its held-out sessions all have the same outcome (AUC undefined), so what it learned cannot be checked" };
  }
  return { trained };
}

function conversionHeadline(evaluation: ConversionHeadEvaluation | undefined): Record<string, number> {
  if (!evaluation || !Number.isFinite(evaluation.model.auc)) return {};
  return {
    conversion_auc: evaluation.model.auc,
    conversion_base_rate_auc: evaluation.baseRate.auc,
    conversion_ece: evaluation.model.ece,
    conversion_base_rate_ece: evaluation.baseRate.ece,
  };
}

/** a / b, or null when the baseline is 0 and a ratio means nothing. */
function ratio(a: number, b: number): number | null {
  return b > 0 ? a / b : null;
}

export function splitName(config: RunConfig): string {
  return config.split.strategy === "leave-last" ? `leave-last ${config.split.holdoutLast}` : `${config.split.strategy} ${config.split.ratios.join("/")}`;
}
