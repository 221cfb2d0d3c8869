import { readFile } from "node:fs/promises";
import path from "node:path";
import { verifyModelDirectory } from "@funnel/registry";
import { type SplitStrategy, splitEvents } from "../data/index.js";
import {
  type BaselineMetrics,
  type BaselineParams,
  collectPerUser,
  compareRankers,
  evaluateRetrieval,
  fitBaselines,
  type RankerComparison,
  similarUserAccuracy,
  scoreBaselines,
  type RetrievalMetrics,
  evaluateServedPolicy,
  type NeighbourMethod,
  servedPolicyModel,
} from "../evaluation/index.js";
import { DEVELOPMENT_PSEUDONYM_SALT, OnnxTowers, OPTIONAL_MODEL_FILES, parseServedPolicy, type PolicyWeights, pseudonymsWith, type ServedPolicyFile } from "@funnel/two-tower";
import { aggregateItemFeatures, encodeItems, type InteractionEvent, type RawItemFeatures } from "@funnel/two-tower";
import { historyContext, ownHistoryContext } from "../model/build-retrieval-task.js";
import type { Dataset } from "./load-dataset.js";
import { DEFAULT_BOOTSTRAP_RESAMPLES } from "../evaluation/index.js";
import { DEFAULT_MIN_SCORED_USERS } from "./run-config.js";
import { coverageWarnings } from "./run-training.js";

/** A split as train records it (params.json `split`). */
export interface SplitConfig {
  strategy: SplitStrategy;
  ratios: [number, number, number];
  holdoutLast: number;
}

export interface ModelEvaluation {
  /** How the events were split and what the baselines were fitted on. */
  protocol: { split: string; refit: boolean; baselinesFittedOn: string; baselineParams: BaselineParams; baselineParamsFrom: string };
  model: RetrievalMetrics;
  /** Popularity, item-kNN and EASE, fitted on exactly the events the model was trained on under this protocol. */
  baselines: BaselineMetrics;
  /** Paired bootstrap intervals of model − each baseline on the scored users. */
  intervals: RankerComparison;
  similarUserAccuracy?: number;
  /**
   * The policy RecommendItems serves with this version's served-policy.json weights, its neighbour source refitted
   * with the baselines on the same events (the version's own list was fitted on every event it saw); absent for
   * versions without served-policy.json.
   */
  served?: { test: RetrievalMetrics; weights: PolicyWeights; neighbours: { method: string; k: number } | null; intervals: RankerComparison };
  /** With `holdout`: the latest share of events held out (a time cut with no validation part). */
  holdout?: number;
  historyEvents: number;
  heldOutEvents: number;
  coverage: { usersScored: number; usersWithoutHistory: number; usersWithOnlySeenPositives: number; positivesOutsideCatalogue: number };
  positivesOutsideCatalogue: number;
  usersWithoutHistory: number;
  warnings: string[];
}

export interface EvaluateOptions {
  /** A time cut: the latest `holdout` share of events is test, everything before is history (retrain's holdout). */
  holdout?: number;
  /** The split of `train` (default: the model directory's own, from params.json). */
  split?: Partial<SplitConfig>;
  /** Whether the model was trained on train + validation (default: the model directory's own protocol). */
  refit?: boolean;
  /** Baseline values (default: the ones the model's training chose on validation, from metrics.json). */
  baselineParams?: Partial<BaselineParams>;
  seed?: number;
  bootstrapResamples?: number;
  minScoredUsers?: number;
  /** `salt` is asked for only when the model has user-id buckets (it hashes pseudonyms). */
  salt?: () => string;
}

/**
 * Scores a model directory on any dataset in the event schema, through its ONNX towers and feature spec (what
 * serving runs), under the protocol of `train`: the same split (the model's own unless told otherwise), users
 * embedded from everything before their test part, and the baselines fitted on exactly the events the model was
 * trained on (train, or train + validation with refit) with the values its training chose. On the data a model
 * was trained on this prints the baseline figures `train` printed, for the same users.
 */
export async function evaluateModelDirectory(dir: string, dataset: Dataset, options: EvaluateOptions = {}): Promise<ModelEvaluation> {
  await verifyModelDirectory(dir);
  const recorded = await recordedProtocol(dir);
  const towers = await OnnxTowers.load(dir);
  try {
    const spec = towers.spec;
    let parts: { fit: InteractionEvent[]; history: InteractionEvent[]; test: InteractionEvent[] };
    let splitLabel: string;
    let refit: boolean;
    let strategy: SplitStrategy;
    if (options.holdout !== undefined) {
      const holdout = options.holdout;
      if (!(holdout > 0 && holdout < 1)) throw new RangeError(`--holdout must be in (0, 1), got ${holdout}`);
      const split = splitEvents(dataset.events, { strategy: "time", ratios: [1 - holdout, 0, holdout], seed: 0 });
      parts = { fit: split.train, history: split.train, test: split.test };
      splitLabel = `time holdout ${holdout}`;
      refit = false;
      strategy = "time";
    } else {
      const split: SplitConfig = { ...recorded.split, ...definedOnly(options.split ?? {}) } as SplitConfig;
      refit = options.refit ?? recorded.refit;
      strategy = split.strategy;
      const parted = splitEvents(dataset.events, { ...split, seed: options.seed ?? recorded.seed, refit });
      // Test users are embedded from everything before their test part (train + validation), as train does.
      parts = { fit: parted.train, history: [...parted.train, ...parted.validation], test: parted.test };
      splitLabel = split.strategy === "leave-last" ? `leave-last ${split.holdoutLast}` : `${split.strategy} ${split.ratios.join("/")}`;
    }
    const itemIds = spec.vocab.item.tokens;
    const itemRow = new Map(itemIds.map((id, i) => [id, i]));
    const itemRaw = aggregateItemFeatures(parts.fit, dataset.itemAttributes);
    const items = encodeItems(spec, itemIds.map((id): RawItemFeatures => itemRaw.get(id) ?? { itemId: id }));
    const users = {
      ...(dataset.userAttributes ? { attributes: dataset.userAttributes } : {}),
      // The id buckets hash pseudonyms, as serving does: the same salt as at training, or the ids land elsewhere.
      ...(spec.user.idBuckets > 0 ? { pseudonymOf: pseudonymsWith(options.salt?.() ?? DEVELOPMENT_PSEUDONYM_SALT) } : {}),
    };
    const context = strategy === "user" ? ownHistoryContext(spec, parts.test, itemRow, users) : historyContext(spec, parts.history, parts.test, itemRow, users);
    const userEmbeddings = await towers.embedUsers(context.users);
    const itemEmbeddings = await towers.embedItems(items);
    const baselineParams = { ...recorded.baselineParams, ...definedOnly(options.baselineParams ?? {}) };
    const baselines = await fitBaselines(historiesOf(parts.fit, itemRow), itemIds.length, baselineParams);
    const modelPerUser = collectPerUser();
    const model = evaluateRetrieval({ userEmbeddings, itemEmbeddings, dim: towers.dim, testPositives: context.positives, trainSeen: context.seen, onUser: modelPerUser.onUser });
    const scored = scoreBaselines(baselines, context);
    const result: ModelEvaluation = {
      protocol: {
        split: splitLabel,
        refit,
        baselinesFittedOn: options.holdout !== undefined ? "every event before the holdout" : refit ? "train + validation" : "train",
        baselineParams: baselines.params,
        baselineParamsFrom: options.baselineParams && Object.keys(definedOnly(options.baselineParams)).length > 0 ? "flags" : recorded.baselineParamsFrom,
      },
      model,
      baselines: scored.metrics,
      intervals: compareRankers(modelPerUser.perUser, scored.perUser, { resamples: options.bootstrapResamples ?? DEFAULT_BOOTSTRAP_RESAMPLES, seed: options.seed ?? recorded.seed }),
      ...(options.holdout !== undefined ? { holdout: options.holdout } : {}),
      historyEvents: parts.history.length,
      heldOutEvents: parts.test.length,
      coverage: {
        usersScored: model.users,
        usersWithoutHistory: context.usersWithoutHistory,
        usersWithOnlySeenPositives: context.positives.size - model.users,
        positivesOutsideCatalogue: context.positivesOutsideCatalogue,
      },
      positivesOutsideCatalogue: context.positivesOutsideCatalogue,
      usersWithoutHistory: context.usersWithoutHistory,
      warnings: coverageWarnings(model.users, options.minScoredUsers ?? DEFAULT_MIN_SCORED_USERS, strategy),
    };
    const policy = await servedPolicyOf(dir);
    if (policy) {
      const policyModel = servedPolicyModel({
        itemIds,
        itemEmbeddings,
        dim: towers.dim,
        itemPopularity: baselines.itemPopularity,
        fits: { ease: baselines.ease, itemKnn: baselines.itemKnn, labels: { ease: `ease λ ${baselines.params.easeLambda}`, itemKnn: `item-knn shrink ${baselines.params.knnShrink}` } },
        method: policy.method,
        neighboursK: policy.k,
      });
      const perUser = collectPerUser();
      const test = await evaluateServedPolicy(policyModel, { userEmbeddings, seen: context.seen, positives: context.positives }, policy.weights, perUser.onUser);
      result.served = {
        test,
        weights: policy.weights,
        neighbours: policyModel.neighboursFile ? { method: policyModel.neighboursFile.method, k: policyModel.neighboursFile.k } : null,
        intervals: compareRankers(perUser.perUser, { "two-tower": modelPerUser.perUser, ...scored.perUser }, {
          resamples: options.bootstrapResamples ?? DEFAULT_BOOTSTRAP_RESAMPLES,
          seed: options.seed ?? recorded.seed,
        }),
      };
    }
    if (dataset.segments && context.userIds.length > 1) {
      result.similarUserAccuracy = similarUserAccuracy({
        userEmbeddings,
        dim: towers.dim,
        labels: context.userIds.map((id) => dataset.segments!.get(id) ?? "unknown"),
        k: 10,
        maxQueries: 2000,
        seed: 0,
      });
    }
    return result;
  } finally {
    await towers.release();
  }
}

/** The version's blend weights, and the method and K of its neighbour list; undefined for older versions. */
async function servedPolicyOf(dir: string): Promise<{ weights: PolicyWeights; method: NeighbourMethod; k: number } | undefined> {
  let file: ServedPolicyFile;
  try {
    file = parseServedPolicy(JSON.parse(await readFile(path.join(dir, OPTIONAL_MODEL_FILES.servedPolicy), "utf8")));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let neighbours: { method?: string; k?: number } = {};
  try {
    neighbours = JSON.parse(await readFile(path.join(dir, OPTIONAL_MODEL_FILES.itemNeighbours), "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  // The list's method label starts with the method ("ease λ 500", "item-knn shrink 50"); no list: no neighbour source.
  const method: NeighbourMethod = neighbours.method?.startsWith("ease") ? "ease" : neighbours.method?.startsWith("item-knn") ? "item-knn" : "none";
  return { weights: file.weights, method, k: neighbours.k ?? 1 };
}

/** Users' distinct items among `events` (items outside the catalogue skipped), as train fits its baselines on. */
function historiesOf(events: InteractionEvent[], itemRow: Map<string, number>): Map<number, Set<number>> {
  const userRow = new Map<string, number>();
  const out = new Map<number, Set<number>>();
  for (const e of events) {
    const it = itemRow.get(e.itemId);
    if (it === undefined) continue;
    let u = userRow.get(e.userId);
    if (u === undefined) {
      u = userRow.size;
      userRow.set(e.userId, u);
    }
    const set = out.get(u);
    if (set) set.add(it);
    else out.set(u, new Set([it]));
  }
  return out;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The protocol a model directory was trained under: params.json has the split, seed and evaluation settings,
 * metrics.json the baselines' values chosen on validation. Directories written before these existed were trained
 * on a time split without refit, with EASE λ 500 and item-kNN shrink 50.
 */
async function recordedProtocol(dir: string): Promise<{ split: SplitConfig; refit: boolean; seed: number; baselineParams: BaselineParams; baselineParamsFrom: string }> {
  const read = async (file: string): Promise<Record<string, unknown>> => {
    try {
      return JSON.parse(await readFile(path.join(dir, file), "utf8")) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  const params = await read("params.json");
  const metrics = await read("metrics.json");
  const split = (params.split ?? {}) as Partial<SplitConfig>;
  const evaluation = (params.evaluation ?? {}) as { refit?: boolean };
  const chosen = metrics.baselineParams as BaselineParams | undefined;
  return {
    split: { strategy: split.strategy ?? "time", ratios: split.ratios ?? [0.7, 0.15, 0.15], holdoutLast: split.holdoutLast ?? 1 },
    refit: evaluation.refit ?? false,
    seed: typeof params.seed === "number" ? params.seed : 7,
    baselineParams: chosen ?? { easeLambda: 500, knnShrink: 50, knnNeighbours: 0 },
    baselineParamsFrom: chosen ? "the model's training (chosen on validation)" : "defaults (the model directory records no tuned values)",
  };
}
