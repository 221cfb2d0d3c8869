import { verifyModelDirectory } from "@funnel/registry";
import { splitEvents } from "../data/index.js";
import {
  type BaselineMetrics,
  DEFAULT_EASE_LAMBDA,
  evaluateBaselines,
  evaluateRetrieval,
  fitBaselines,
  similarUserAccuracy,
  type RetrievalMetrics,
} from "../evaluation/index.js";
import { DEVELOPMENT_PSEUDONYM_SALT, OnnxTowers, pseudonymsWith } from "@funnel/two-tower";
import { aggregateItemFeatures, encodeItems, type RawItemFeatures } from "@funnel/two-tower";
import { historyContext } from "../model/build-retrieval-task.js";
import type { Dataset } from "./load-dataset.js";

export interface ModelEvaluation {
  model: RetrievalMetrics;
  /** Popularity, item-kNN and EASE, fitted on the same earlier events the users are embedded from. */
  baselines: BaselineMetrics;
  similarUserAccuracy?: number;
  holdout: number;
  historyEvents: number;
  heldOutEvents: number;
  positivesOutsideCatalogue: number;
  usersWithoutHistory: number;
}

/**
 * Scores a model directory on any dataset in the event schema, through its ONNX towers and feature spec (what
 * serving runs). The latest `holdout` share of events (by time) are the positives; each user is embedded from
 * their earlier events; the baselines are fitted on the earlier events.
 */
export async function evaluateModelDirectory(
  dir: string,
  dataset: Dataset,
  /** `salt` is asked for only when the model has user-id buckets (it hashes pseudonyms). */
  options: { holdout?: number; easeLambda?: number; salt?: () => string } = {},
): Promise<ModelEvaluation> {
  const holdout = options.holdout ?? 0.15;
  if (!(holdout > 0 && holdout < 1)) throw new RangeError(`--holdout must be in (0, 1), got ${holdout}`);
  await verifyModelDirectory(dir);
  const towers = await OnnxTowers.load(dir);
  try {
    const spec = towers.spec;
    const split = splitEvents(dataset.events, { strategy: "time", ratios: [1 - holdout, 0, holdout], seed: 0 });
    const itemIds = spec.vocab.item.tokens;
    const itemRow = new Map(itemIds.map((id, i) => [id, i]));
    const itemRaw = aggregateItemFeatures(split.train, dataset.itemAttributes);
    const items = encodeItems(spec, itemIds.map((id): RawItemFeatures => itemRaw.get(id) ?? { itemId: id }));
    const context = historyContext(spec, split.train, split.test, itemRow, {
      ...(dataset.userAttributes ? { attributes: dataset.userAttributes } : {}),
      // The id buckets hash pseudonyms, as serving does: the same salt as at training, or the ids land elsewhere.
      ...(spec.user.idBuckets > 0 ? { pseudonymOf: pseudonymsWith(options.salt?.() ?? DEVELOPMENT_PSEUDONYM_SALT) } : {}),
    });
    const userEmbeddings = await towers.embedUsers(context.users);
    const itemEmbeddings = await towers.embedItems(items);
    const baselines = await fitBaselines(context.seen, itemIds.length, { easeLambda: options.easeLambda ?? DEFAULT_EASE_LAMBDA });
    const result: ModelEvaluation = {
      model: evaluateRetrieval({ userEmbeddings, itemEmbeddings, dim: towers.dim, testPositives: context.positives, trainSeen: context.seen }),
      baselines: evaluateBaselines(baselines, context),
      holdout,
      historyEvents: split.train.length,
      heldOutEvents: split.test.length,
      positivesOutsideCatalogue: context.positivesOutsideCatalogue,
      usersWithoutHistory: context.usersWithoutHistory,
    };
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
