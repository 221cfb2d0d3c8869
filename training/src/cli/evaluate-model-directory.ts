import { verifyModelDirectory } from "@funnel/registry";
import { splitEvents } from "../data/index.js";
import { evaluateRetrieval, popularityBaseline, similarUserAccuracy, type RetrievalMetrics } from "../evaluation/index.js";
import { OnnxTowers } from "@funnel/two-tower";
import { aggregateItemFeatures, encodeItems, type RawItemFeatures } from "@funnel/two-tower";
import { historyContext } from "../model/build-retrieval-task.js";
import type { Dataset } from "./load-dataset.js";

export interface ModelEvaluation {
  model: RetrievalMetrics;
  baseline: RetrievalMetrics;
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
 * their earlier events; the popularity baseline counts the earlier events.
 */
export async function evaluateModelDirectory(dir: string, dataset: Dataset, options: { holdout?: number } = {}): Promise<ModelEvaluation> {
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
    const context = historyContext(spec, split.train, split.test, itemRow);
    const userEmbeddings = await towers.embedUsers(context.users);
    const itemEmbeddings = await towers.embedItems(items);
    const popularity = new Float64Array(itemIds.length);
    for (const seen of context.seen.values()) for (const it of seen) popularity[it]! += 1;
    const result: ModelEvaluation = {
      model: evaluateRetrieval({ userEmbeddings, itemEmbeddings, dim: towers.dim, testPositives: context.positives, trainSeen: context.seen }),
      baseline: popularityBaseline({ itemPopularity: popularity, itemCount: itemIds.length, testPositives: context.positives, trainSeen: context.seen }),
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
