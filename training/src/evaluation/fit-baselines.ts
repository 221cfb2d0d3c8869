import { DEFAULT_KNN_SHRINK, fitEase, fitItemKnn, type Histories, type ItemToItemModel, itemToItemBaseline } from "./item-to-item-baselines.js";
import { popularityBaseline, type RetrievalMetrics } from "./retrieval-metrics.js";

/** The baselines every evaluation reports beside the model, in display order. */
export const BASELINES = ["popularity", "itemKnn", "ease"] as const;
export type BaselineName = (typeof BASELINES)[number];
export const BASELINE_LABELS: Record<BaselineName, string> = { popularity: "popularity", itemKnn: "item-kNN", ease: "EASE" };
export type BaselineMetrics = Record<BaselineName, RetrievalMetrics>;

/** EASE's L2 penalty when none is configured (in the paper's range; see fitEase for the measured effect). */
export const DEFAULT_EASE_LAMBDA = 500;
export { DEFAULT_KNN_SHRINK };

export interface FittedBaselines {
  itemPopularity: Float64Array;
  itemKnn: ItemToItemModel;
  ease: ItemToItemModel;
}

/** Fits the baselines on the training interactions (the same ones the model trains on). */
export async function fitBaselines(train: Histories, itemCount: number, options: { easeLambda?: number; knnShrink?: number } = {}): Promise<FittedBaselines> {
  const itemPopularity = new Float64Array(itemCount);
  if (train instanceof Map) for (const items of train.values()) for (const it of items) itemPopularity[it]! += 1;
  else for (const it of train.item) itemPopularity[it]! += 1;
  return {
    itemPopularity,
    itemKnn: fitItemKnn(train, itemCount, options.knnShrink ?? DEFAULT_KNN_SHRINK),
    ease: await fitEase(train, itemCount, options.easeLambda ?? DEFAULT_EASE_LAMBDA),
  };
}

/** Each baseline's metrics on one evaluation context (positives after, history before), by the model's metrics code. */
export function evaluateBaselines(
  fitted: FittedBaselines,
  context: { positives: Map<number, Set<number>>; seen: Map<number, Set<number>> },
): BaselineMetrics {
  const args = { testPositives: context.positives, trainSeen: context.seen };
  return {
    popularity: popularityBaseline({ itemPopularity: fitted.itemPopularity, itemCount: fitted.itemPopularity.length, ...args }),
    itemKnn: itemToItemBaseline({ model: fitted.itemKnn, ...args }),
    ease: itemToItemBaseline({ model: fitted.ease, ...args }),
  };
}
