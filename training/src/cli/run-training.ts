import path from "node:path";
import type { ModelManifest } from "@funnel/registry";
import { pseudonymiseUserId } from "@funnel/two-tower";
import { fingerprintEvents } from "../data/index.js";
import { evaluateRetrieval, popularityBaseline, similarUserAccuracy, type RetrievalMetrics } from "../evaluation/index.js";
import { writeModelDirectory } from "../export/write-model-directory.js";
import { buildInteractionStats, type ConversionHeadEvaluation, renderConversionReport, trainConversionHead } from "../conversion/index.js";
import { aggregateUserFeatures, encodeUsers } from "@funnel/two-tower";
import { buildRetrievalTask, type RetrievalContext, type RetrievalTask } from "../model/build-retrieval-task.js";
import { initBackend, type BackendInfo } from "../model/init-backend.js";
import { trainTwoTower, type TrainOptions, type TrainResult } from "../model/train-two-tower.js";
import { towerConfigFromSpec, type TwoTowerConfig, type TwoTowerModel } from "../model/two-tower-model.js";
import { projectEmbeddings2d, renderRunReport } from "../report/index.js";
import { loadDataset, type Dataset } from "./load-dataset.js";
import type { RunConfig } from "./run-config.js";
import { trainingProgress } from "./training-progress.js";

/** Neighbours per query user in similar-user accuracy. */
const SIMILAR_USER_K = 10;

export interface RunTrainingOptions {
  /** Secret salt for pseudonymising user ids in embeddings/users.ids.txt. */
  salt: string;
  gitCommit?: string | undefined;
  progress?: boolean;
  log?: (line: string) => void;
}

export interface TrainedRun {
  config: RunConfig;
  backend: BackendInfo;
  task: RetrievalTask;
  towerConfig: TwoTowerConfig;
  trainOptions: TrainOptions;
  result: TrainResult;
  test: { model: RetrievalMetrics; baseline: RetrievalMetrics; similarUserAccuracy?: number };
  validation: RetrievalMetrics;
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
export async function trainAndEvaluate(config: RunConfig, dataset: Dataset, options: Omit<RunTrainingOptions, "salt"> = {}): Promise<TrainedRun> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const backend = await initBackend();
  log(`tfjs backend: ${backend.name} (${backend.provider}${backend.name === "wasm" ? `, simd ${backend.wasmSimd}, threads ${backend.wasmThreads}` : ""})`);
  const task = buildRetrievalTask(dataset.events, {
    strategy: config.split.strategy,
    ratios: config.split.ratios,
    seed: config.seed,
    sequenceLength: config.model.sequenceLength,
    itemAttributes: dataset.itemAttributes,
  });
  const c = task.counts;
  log(
    `split ${config.split.strategy} ${config.split.ratios.join("/")}: ${c.train}/${c.validation}/${c.test} events, ` +
      `${c.trainPairs} training pairs, ${task.itemIds.length} items, ${task.test.userIds.length} test users`,
  );
  const towerConfig = towerConfigFromSpec(task.spec, { dim: config.model.dim, hidden: config.model.hidden, embedding: config.model.embedding });
  const trainOptions = trainOptionsOf(config);
  const progress = trainingProgress(trainOptions.epochs, { enabled: options.progress ?? true });
  let result: TrainResult;
  try {
    result = await trainTwoTower(towerConfig, task.training, trainOptions, {
      ...progress,
      epochMetrics: (model) => {
        const m = evaluateContext(model, task, task.validation);
        return { "validation recall@10": m["recall@10"], "validation ndcg@10": m["ndcg@10"] };
      },
    });
  } finally {
    progress.stop();
  }
  log(`best epoch ${result.bestEpoch} of ${result.epochs.length}${result.stoppedEarly ? " (stopped early)" : ""}`);
  const model = result.model;
  const test = {
    model: evaluateContext(model, task, task.test),
    baseline: popularityBaseline({
      itemPopularity: task.itemPopularity,
      itemCount: task.itemIds.length,
      testPositives: task.test.positives,
      trainSeen: task.test.seen,
    }),
    similarUserAccuracy: dataset.segments ? segmentAccuracy(model, task.test, dataset.segments, config.seed) : undefined,
  };
  return { config, backend, task, towerConfig, trainOptions, result, test, validation: evaluateContext(model, task, task.validation) };
}

function evaluateContext(model: TwoTowerModel, task: RetrievalTask, context: RetrievalContext): RetrievalMetrics {
  return evaluateRetrieval({
    userEmbeddings: model.embedUsers(context.users),
    itemEmbeddings: model.embedItems(task.items),
    dim: model.config.dim,
    testPositives: context.positives,
    trainSeen: context.seen,
  });
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
  const dataset = await loadDataset(config.data, { progress: options.progress, log });
  const run = await trainAndEvaluate(config, dataset, options);
  const { task, result, towerConfig, test } = run;
  const model = result.model;

  // Served embeddings use every event we have: the freshest history of each user.
  const allUsersRaw = aggregateUserFeatures(dataset.events, { sequenceLength: task.spec.sequenceLength });
  const userIds = [...allUsersRaw.keys()].sort();
  const userEmbeddings = model.embedUsers(encodeUsers(task.spec, userIds.map((id) => allUsersRaw.get(id)!)));
  const itemEmbeddings = model.embedItems(task.items);

  log("projecting user embeddings to 2-D for the report");
  const projected = projectEmbeddings2d(userEmbeddings, towerConfig.dim, { seed: config.seed, maxPoints: 1500 });
  const userMap = projected.map((p) => {
    const id = userIds[p.index]!;
    return { x: p.x, y: p.y, segment: dataset.segments?.get(id) ?? "unknown", device: allUsersRaw.get(id)?.device ?? "unknown" };
  });

  log("training the conversion head");
  const conversion = trainConversionHead(dataset.events, { spec: task.spec, dim: towerConfig.dim, embedUsers: (u) => model.embedUsers(u), seed: config.seed });
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
  const metrics = {
    test: test.model,
    baseline: test.baseline,
    lift: Object.fromEntries(
      (["recall@5", "recall@10", "recall@20", "map@10", "ndcg@10"] as const).map((k) => [k, ratio(test.model[k], test.baseline[k])]),
    ),
    validation: run.validation,
    similarUserAccuracy: test.similarUserAccuracy === undefined ? null : { k: SIMILAR_USER_K, label: "segment", value: test.similarUserAccuracy },
    conversionHead: conversion?.evaluation ?? null,
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    counts: task.counts,
    testPositivesOutsideCatalogue: task.test.positivesOutsideCatalogue,
    testUsersWithoutHistory: task.test.usersWithoutHistory,
  };
  const reportHtml = renderRunReport({
    title: `Two-tower run "${config.name}": dim ${towerConfig.dim}, ${dataset.source}`,
    params: {
      ...headlineParams(run),
      split_ratios: config.split.ratios.join("/"),
      embedding_widths: Object.entries(towerConfig.embedding).map(([k, v]) => `${k} ${v}`).join(", "),
      sequence_length: towerConfig.sequenceLength,
      data: dataset.source,
      events: dataset.events.length,
      rows_rejected: dataset.report?.rowsRejected ?? 0,
      best_epoch: result.bestEpoch,
    },
    epochs: result.epochs,
    metrics: { model: test.model, baseline: test.baseline, ...(test.similarUserAccuracy === undefined ? {} : { similarUserAccuracy: test.similarUserAccuracy }) },
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
    interactionStats: buildInteractionStats(dataset.events, (id) => pseudonymiseUserId(id, options.salt)),
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

/** Flat numbers for the manifest: what the registry shows and promotes on. */
export function headline(run: TrainedRun): Record<string, number> {
  const { model, baseline, similarUserAccuracy: accuracy } = run.test;
  const out: Record<string, number> = {
    "recall@5": model["recall@5"],
    "recall@10": model["recall@10"],
    "recall@20": model["recall@20"],
    "map@10": model["map@10"],
    "ndcg@10": model["ndcg@10"],
    "baseline_recall@10": baseline["recall@10"],
    test_users: model.users,
    validation_loss: Math.min(...run.result.epochs.map((e) => e.validationLoss)),
    "validation_recall@10": run.validation["recall@10"],
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
