import path from "node:path";
import type { ModelManifest } from "@funnel/registry";
import { DEVELOPMENT_PSEUDONYM_SALT, type ItemNeighboursFile, pseudonymiseUserId, pseudonymsWith, SERVED_POLICY_FORMAT, type ServedPolicyFile } from "@funnel/two-tower";
import { fingerprintEvents } from "../data/index.js";
import {
  type BaselineMetrics,
  evaluateBaselines,
  evaluateRetrieval,
  type FittedBaselines,
  fitBaselines,
  similarUserAccuracy,
  recommendationBias,
  type RecommendationBias,
  type RetrievalMetrics,
  type UserHitsListener,
  fitAndEvaluateServedPolicy,
  fitEase,
  fitItemKnn,
  neighboursOf,
  type ServedPolicyRun,
} from "../evaluation/index.js";
import { writeModelDirectory } from "../export/write-model-directory.js";
import { buildInteractionStats, type ConversionHeadEvaluation, renderConversionReport, trainConversionHead } from "../conversion/index.js";
import { aggregateUserFeatures, buildFeatureProfile, encodeUsers, type FeatureSpec, type RawUserFeatures, type UserTensors } from "@funnel/two-tower";
import { buildRetrievalTask, type RetrievalContext, type RetrievalTask } from "../model/build-retrieval-task.js";
import { initBackend, type BackendInfo } from "../model/init-backend.js";
import { trainTwoTower, type TrainOptions, type TrainResult } from "../model/train-two-tower.js";
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
  task: RetrievalTask;
  towerConfig: TwoTowerConfig;
  trainOptions: TrainOptions;
  result: TrainResult;
  test: { model: RetrievalMetrics; baselines: BaselineMetrics; similarUserAccuracy?: number; bias: RecommendationBias };
  validation: { model: RetrievalMetrics; baselines: BaselineMetrics };
  /** Fitted on the training interactions; a sweep passes them to its next runs (same data, same split). */
  fittedBaselines: FittedBaselines;
  /** What RecommendItems serves: weights fitted on validation, figures on test (metrics.json `served`). */
  served: ServedPolicyRun;
}

export interface TrainAndEvaluateOptions extends Omit<RunTrainingOptions, "salt"> {
  /** Salt of the pseudonyms the user-id buckets hash (default: the development salt; `train` passes its own). */
  salt?: string;
  onEpochEnd?: (epoch: number) => void;
  /** Baselines fitted by an earlier run on the same dataset and split config (they do not depend on the model). */
  fittedBaselines?: FittedBaselines;
}

export interface RunSummary {
  out: string;
  manifest: ModelManifest;
  headlineMetrics: Record<string, number>;
  run: TrainedRun;
}

export function trainOptionsOf(config: RunConfig): TrainOptions {
  return { ...config.training, seed: config.seed };
}

/** Split, fit the feature spec, train, and evaluate on validation and test against the popularity baseline. */
export async function trainAndEvaluate(
  config: RunConfig,
  dataset: Dataset,
  options: TrainAndEvaluateOptions = {},
): Promise<TrainedRun> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const backend = await initBackend();
  log(`tfjs backend: ${backend.name} (${backend.provider}${backend.name === "wasm" ? `, simd ${backend.wasmSimd}, threads ${backend.wasmThreads}` : ""})`);
  const task = buildRetrievalTask(dataset.events, {
    strategy: config.split.strategy,
    ratios: config.split.ratios,
    holdoutLast: config.split.holdoutLast,
    seed: config.seed,
    sequenceLength: config.model.sequenceLength,
    itemAttributes: dataset.itemAttributes,
    ...(dataset.userAttributes ? { userAttributes: dataset.userAttributes } : {}),
    userIdBuckets: config.model.userIdBuckets,
    pseudonymOf: pseudonymsWith(options.salt ?? DEVELOPMENT_PSEUDONYM_SALT),
  });
  const c = task.counts;
  log(
    `split ${splitName(config)}: ${c.train}/${c.validation}/${c.test} events, ` +
      `${c.trainPairs} training pairs, ${task.itemIds.length} items, ${task.test.userIds.length} test users`,
  );
  const towerConfig = towerConfigFromSpec(task.spec, { dim: config.model.dim, hidden: config.model.hidden, embedding: config.model.embedding });
  const trainOptions = trainOptionsOf(config);
  const progress = trainingProgress(trainOptions.epochs, { enabled: options.progress ?? true });
  let result: TrainResult;
  try {
    result = await trainTwoTower(towerConfig, task.training, trainOptions, {
      ...progress,
      onEpochEnd: (epochLog) => {
        progress.onEpochEnd?.(epochLog);
        options.onEpochEnd?.(epochLog.epoch);
      },
      epochMetrics: (model) => {
        const m = evaluateContext(model, task, task.validation);
        return Object.fromEntries(METRIC_KEYS.map((k) => [`validation ${k}`, m[k]]));
      },
    });
  } finally {
    progress.stop();
  }
  log(`best epoch ${result.bestEpoch} of ${result.epochs.length} by ${result.selectedOn}${result.stoppedEarly ? " (stopped early)" : ""}`);
  const model = result.model;
  let fittedBaselines = options.fittedBaselines;
  if (!fittedBaselines) {
    log(`fitting baselines (popularity, item-kNN shrink ${config.baselines.knnShrink}, EASE λ ${config.baselines.easeLambda}) on the training interactions`);
    fittedBaselines = await fitBaselines(task.training.train.pairs, task.itemIds.length, config.baselines);
  }
  const testHits = new Map<number, number>();
  const test = {
    model: evaluateContext(model, task, task.test, (user, hits) => testHits.set(user, hits)),
    baselines: evaluateBaselines(fittedBaselines, task.test),
    similarUserAccuracy: dataset.segments ? segmentAccuracy(model, task.test, dataset.segments, config.seed) : undefined,
    bias: recommendationBias(testHits, biasDimensions(task, dataset), config.bias),
  };
  const validation = { model: evaluateContext(model, task, task.validation), baselines: evaluateBaselines(fittedBaselines, task.validation) };
  const { neighbours, neighboursK } = config.servedPolicy;
  log(`fitting the served policy's blend weights on validation (neighbour source: ${neighbours === "none" ? "none" : `${neighbours}, top ${neighboursK} per item`})`);
  const served = await fitAndEvaluateServedPolicy({
    itemIds: task.itemIds,
    itemEmbeddings: model.embedItems(task.items),
    dim: model.config.dim,
    itemPopularity: fittedBaselines.itemPopularity,
    itemToItem: fittedBaselines,
    method: neighbours,
    neighboursK,
    labels: neighbourLabels(config),
    validation: { userEmbeddings: model.embedUsers(task.validation.users), seen: task.validation.seen, positives: task.validation.positives },
    test: { userEmbeddings: model.embedUsers(task.test.users), seen: task.test.seen, positives: task.test.positives },
  });
  const run = { config, backend, task, towerConfig, trainOptions, result, test, validation, fittedBaselines, served };
  log(formatEvaluation(run));
  return run;
}

const METRIC_KEYS = ["recall@5", "recall@10", "recall@20", "map@10", "ndcg@10"] as const;

/** Who was scored and who was not, for one evaluation context: printed with the metrics and kept in metrics.json. */
export function coverage(context: RetrievalContext, metrics: RetrievalMetrics): Record<string, number> {
  return {
    usersScored: metrics.users,
    usersWithoutHistory: context.usersWithoutHistory,
    usersWithOnlySeenPositives: context.positives.size - metrics.users,
    positivesOutsideCatalogue: context.positivesOutsideCatalogue,
  };
}

/** The test metrics of the model beside every baseline, with who was scored: the run's summary on stderr. */
export function formatEvaluation(run: Pick<TrainedRun, "test" | "task" | "config"> & { served?: ServedPolicyRun }): string {
  const rows: [string, RetrievalMetrics][] = [
    ...(run.served ? [["served policy", run.served.test] as [string, RetrievalMetrics]] : []),
    ["two-tower", run.test.model],
    ...BASELINES.map((b): [string, RetrievalMetrics] => [BASELINE_LABELS[b], run.test.baselines[b]]),
  ];
  const header = ["test", ...METRIC_KEYS];
  const body = rows.map(([name, m]) => [name, ...METRIC_KEYS.map((k) => m[k].toFixed(4))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const c = coverage(run.task.test, run.test.model);
  const beaten = BASELINES.filter((b) => run.test.baselines[b]["recall@10"] >= run.test.model["recall@10"]).map((b) => BASELINE_LABELS[b]);
  return [
    `test (${splitName(run.config)}): ${c.usersScored} users scored; not scored: ${c.usersWithoutHistory} without history (cold start), ` +
      `${c.usersWithOnlySeenPositives} whose held-out items were all already in their history; ${c.positivesOutsideCatalogue} held-out interactions with items outside the catalogue`,
    line(header),
    ...body.map(line),
    beaten.length > 0 ? `two-tower does NOT beat ${beaten.join(", ")} on recall@10` : "two-tower beats every baseline on recall@10",
    ...(run.served ? [servedVerdict(run.served, run.test)] : []),
  ].join("\n");
}

/** The served policy's weights and where it stands against the bare two-tower and every baseline. */
function servedVerdict(served: ServedPolicyRun, test: TrainedRun["test"]): string {
  const behind = [["two-tower", test.model] as const, ...BASELINES.map((b) => [BASELINE_LABELS[b], test.baselines[b]] as const)]
    .filter(([, m]) => m["recall@10"] > served.test["recall@10"])
    .map(([name]) => name);
  const weights = Object.entries(served.weights)
    .map(([s, w]) => `${s} ${w.toFixed(2)}`)
    .join(", ");
  return (
    `served policy (weights fitted on validation over ${served.fit.compared} combinations: ${weights}; neighbours ${served.neighbours ? `${served.neighbours.method}, top ${served.neighbours.k}` : "none"}): ` +
    (behind.length > 0 ? `behind ${behind.join(", ")} on recall@10` : "at or ahead of the two-tower and every baseline on recall@10")
  );
}

function neighbourLabels(config: RunConfig): { ease: string; itemKnn: string } {
  return { ease: `ease λ ${config.baselines.easeLambda}`, itemKnn: `item-knn shrink ${config.baselines.knnShrink}` };
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

  log("training the conversion head");
  const conversion = trainConversionHead(dataset.events, { spec: task.spec, dim: towerConfig.dim, embedUsers: (u) => model.embedUsers(u), seed: config.seed, ...ids });
  const headlineMetrics = { ...headline(run), ...conversionHeadline(conversion?.evaluation) };
  const params = {
    model: towerConfig,
    training: run.trainOptions,
    split: config.split,
    seed: config.seed,
    data: { source: dataset.source, events: dataset.events.length, rowsRejected: dataset.report?.rowsRejected ?? 0 },
    backend: run.backend,
    userIds: "salted SHA-256 pseudonyms (pseudonymiseUserId)",
  };
  const { perUserRecallAt10: _perUser, ...servedTest } = run.served.test;
  const metrics = {
    /**
     * The policy RecommendItems serves (retrieval, similar users, item neighbours, popularity; weights fitted
     * on validation), evaluated through the serving code on the same test users as `test` and `baselines`.
     */
    served: {
      test: servedTest,
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
    validation: run.validation,
    similarUserAccuracy: test.similarUserAccuracy === undefined ? null : { k: SIMILAR_USER_K, label: "segment", value: test.similarUserAccuracy },
    bias: test.bias,
    conversionHead: conversion?.evaluation ?? null,
    bestEpoch: result.bestEpoch,
    selectedOn: result.selectedOn,
    stoppedEarly: result.stoppedEarly,
    split: splitName(config),
    counts: task.counts,
    coverage: { test: coverage(task.test, test.model), validation: coverage(task.validation, run.validation.model) },
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
    metrics: { served: run.served, model: test.model, baselines: test.baselines, coverage: coverage(task.test, test.model), bias: test.bias, ...(test.similarUserAccuracy === undefined ? {} : { similarUserAccuracy: test.similarUserAccuracy }) },
    userMap,
  }).replace("</body>", `${renderConversionReport(conversion?.evaluation)}\n</body>`);
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
    conversionHead: conversion?.head,
    featureProfile,
    interactionStats: buildInteractionStats(dataset.events, (id) => pseudonymiseUserId(id, options.salt)),
    ...(await servedPolicyFiles(run, dataset, log)),
    lineage: {
      dataFingerprint: fingerprintEvents(dataset.events),
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
  log(`fitting item neighbours (${method}, top ${neighboursK} per item) on every event for serving`);
  const labels = neighbourLabels(config);
  const fitted =
    method === "ease" ? await fitEase(histories, task.itemIds.length, config.baselines.easeLambda) : fitItemKnn(histories, task.itemIds.length, config.baselines.knnShrink);
  return { servedPolicy, itemNeighbours: neighboursOf(fitted, task.itemIds, neighboursK, method === "ease" ? labels.ease : labels.itemKnn) };
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
