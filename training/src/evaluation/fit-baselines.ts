import { DEFAULT_KNN_SHRINK, easeFromGram, type Histories, type ItemToItemModel, itemGram, itemKnnFromGram, itemToItemBaseline } from "./item-to-item-baselines.js";
import { collectPerUser, type PerUserMetrics } from "./per-user-metrics.js";
import { popularityBaseline, type RetrievalMetrics } from "./retrieval-metrics.js";

/** The baselines every evaluation reports beside the model, in display order. */
export const BASELINES = ["popularity", "itemKnn", "ease"] as const;
export type BaselineName = (typeof BASELINES)[number];
export const BASELINE_LABELS: Record<BaselineName, string> = { popularity: "popularity", itemKnn: "item-kNN", ease: "EASE" };
export type BaselineMetrics = Record<BaselineName, RetrievalMetrics>;

/** EASE's L2 penalty when there is nothing to tune it on (no validation users; in the paper's range). */
export const DEFAULT_EASE_LAMBDA = 500;
export { DEFAULT_KNN_SHRINK };

/** The hyperparameters of the fitted baselines. */
export interface BaselineParams {
  easeLambda: number;
  knnShrink: number;
  /** Neighbours kept per item by item-kNN (0: all). */
  knnNeighbours: number;
}

/**
 * The grids tuneBaselines searches on validation (a single value fixes a parameter). EASE's λ around the paper's
 * range (the best λ moved from 2000 on online retail to 250 on a ratings set); item-kNN's shrinkage from none to
 * heavy, with all neighbours or a pruned list.
 */
export interface BaselineGrid {
  easeLambda: number[];
  knnShrink: number[];
  knnNeighbours: number[];
}
export const DEFAULT_BASELINE_GRID: BaselineGrid = {
  easeLambda: [50, 100, 250, 500, 1000, 2000],
  knnShrink: [0, 10, 50, 200],
  knnNeighbours: [0, 50, 200],
};

export interface FittedBaselines {
  params: BaselineParams;
  itemPopularity: Float64Array;
  itemKnn: ItemToItemModel;
  ease: ItemToItemModel;
}

/** Fits the baselines on the training interactions (exactly the ones the model trains on). */
export async function fitBaselines(train: Histories, itemCount: number, params: Partial<BaselineParams> = {}): Promise<FittedBaselines> {
  const full: BaselineParams = { easeLambda: params.easeLambda ?? DEFAULT_EASE_LAMBDA, knnShrink: params.knnShrink ?? DEFAULT_KNN_SHRINK, knnNeighbours: params.knnNeighbours ?? 0 };
  const gram = itemGram(train, itemCount);
  return {
    params: full,
    itemPopularity: popularityOf(gram, itemCount),
    itemKnn: itemKnnFromGram(gram, itemCount, full.knnShrink, full.knnNeighbours),
    ease: await easeFromGram(gram, itemCount, full.easeLambda),
  };
}

/** Items' user counts: the diagonal of the Gram matrix (distinct users per item). */
function popularityOf(gram: Float64Array, itemCount: number): Float64Array {
  return Float64Array.from({ length: itemCount }, (_, i) => gram[i * itemCount + i]!);
}

type Context = { positives: Map<number, Set<number>>; seen: Map<number, Set<number>> };

/** Each baseline's metrics and per-user values on one evaluation context, by the model's metrics code. */
export function scoreBaselines(fitted: FittedBaselines, context: Context): { metrics: BaselineMetrics; perUser: Record<BaselineName, PerUserMetrics> } {
  const args = { testPositives: context.positives, trainSeen: context.seen };
  const pop = collectPerUser();
  const knn = collectPerUser();
  const ease = collectPerUser();
  return {
    metrics: {
      popularity: popularityBaseline({ itemPopularity: fitted.itemPopularity, itemCount: fitted.itemPopularity.length, ...args, onUser: pop.onUser }),
      itemKnn: itemToItemBaseline({ model: fitted.itemKnn, ...args, onUser: knn.onUser }),
      ease: itemToItemBaseline({ model: fitted.ease, ...args, onUser: ease.onUser }),
    },
    perUser: { popularity: pop.perUser, itemKnn: knn.perUser, ease: ease.perUser },
  };
}

/** Each baseline's metrics on one evaluation context (positives after, history before). */
export function evaluateBaselines(fitted: FittedBaselines, context: Context): BaselineMetrics {
  return scoreBaselines(fitted, context).metrics;
}

/** One grid point's validation figures. */
export interface BaselineTrial {
  params: Record<string, number>;
  "recall@10": number;
  "ndcg@10": number;
}

export interface BaselineTuning {
  /** The values that won on validation recall@10 (ndcg@10, then grid order, break ties). */
  params: BaselineParams;
  /** False when validation scored no user (nothing to tune on): the defaults (or first grid values) were taken. */
  tuned: boolean;
  /** Validation users each trial was scored on (0: not tuned). */
  validationUsers: number;
  ease: BaselineTrial[];
  itemKnn: BaselineTrial[];
  /** The baselines fitted on `train` with the winning values. */
  fitted: FittedBaselines;
}

/**
 * Tunes EASE's λ and item-kNN's shrinkage and neighbours on validation: each grid point is fitted on `train` (the
 * interactions the model trains on) and scored on the validation context, by the metrics the model is selected on.
 * Popularity has nothing to tune. The test split is never read.
 */
export async function tuneBaselines(
  train: Histories,
  itemCount: number,
  validation: Context,
  grid: BaselineGrid = DEFAULT_BASELINE_GRID,
  log: (line: string) => void = () => {},
): Promise<BaselineTuning> {
  for (const [name, values] of Object.entries(grid)) if (values.length === 0) throw new RangeError(`tuneBaselines: the ${name} grid is empty`);
  const gram = itemGram(train, itemCount);
  const itemPopularity = popularityOf(gram, itemCount);
  // Who validation can score depends on the positives and histories only: popularity (cheap) counts them.
  const validationUsers = popularityBaseline({ itemPopularity, itemCount, testPositives: validation.positives, trainSeen: validation.seen }).users;
  const tuned = validationUsers > 0;
  const score = (model: ItemToItemModel): RetrievalMetrics => itemToItemBaseline({ model, testPositives: validation.positives, trainSeen: validation.seen });
  const better = (a: BaselineTrial, b: BaselineTrial | undefined): boolean =>
    !b || a["recall@10"] > b["recall@10"] || (a["recall@10"] === b["recall@10"] && a["ndcg@10"] > b["ndcg@10"]);
  // Without validation users (or with one grid point) nothing is scored: the defaults, if in the grid, else the first values.
  const fallback = (values: number[], preferred: number): number => (values.includes(preferred) ? preferred : values[0]!);
  const knnTrials: BaselineTrial[] = [];
  let knn: { trial: BaselineTrial; model: ItemToItemModel } | undefined;
  const knnGrid = grid.knnShrink.length * grid.knnNeighbours.length;
  if (!tuned || knnGrid === 1) {
    const shrink = fallback(grid.knnShrink, DEFAULT_KNN_SHRINK);
    const neighbours = fallback(grid.knnNeighbours, 0);
    knn = { trial: { params: { shrink, neighbours }, "recall@10": Number.NaN, "ndcg@10": Number.NaN }, model: itemKnnFromGram(gram, itemCount, shrink, neighbours) };
  } else {
    for (const shrink of grid.knnShrink) {
      for (const neighbours of grid.knnNeighbours) {
        const model = itemKnnFromGram(gram, itemCount, shrink, neighbours);
        const m = score(model);
        const trial: BaselineTrial = { params: { shrink, neighbours }, "recall@10": m["recall@10"], "ndcg@10": m["ndcg@10"] };
        knnTrials.push(trial);
        if (better(trial, knn?.trial)) knn = { trial, model };
      }
    }
    log(`  item-kNN: shrink ${knn!.trial.params.shrink}, neighbours ${knn!.trial.params.neighbours || "all"} best of ${knnTrials.length} (validation recall@10 ${knn!.trial["recall@10"].toFixed(4)})`);
  }
  const easeTrials: BaselineTrial[] = [];
  let ease: { trial: BaselineTrial; model: ItemToItemModel } | undefined;
  if (!tuned || grid.easeLambda.length === 1) {
    const lambda = fallback(grid.easeLambda, DEFAULT_EASE_LAMBDA);
    ease = { trial: { params: { lambda }, "recall@10": Number.NaN, "ndcg@10": Number.NaN }, model: await easeFromGram(gram, itemCount, lambda) };
  } else {
    for (const lambda of grid.easeLambda) {
      const model = await easeFromGram(gram, itemCount, lambda);
      const m = score(model);
      const trial: BaselineTrial = { params: { lambda }, "recall@10": m["recall@10"], "ndcg@10": m["ndcg@10"] };
      easeTrials.push(trial);
      if (better(trial, ease?.trial)) ease = { trial, model };
      log(`  EASE λ ${lambda}: validation recall@10 ${m["recall@10"].toFixed(4)}`);
    }
  }
  const params: BaselineParams = { easeLambda: ease!.trial.params.lambda!, knnShrink: knn!.trial.params.shrink!, knnNeighbours: knn!.trial.params.neighbours! };
  return { params, tuned, validationUsers, ease: easeTrials, itemKnn: knnTrials, fitted: { params, itemPopularity, itemKnn: knn!.model, ease: ease!.model } };
}
