export { evaluateRetrieval, popularityBaseline, rankAndScore, topOfScores, USER_METRIC_KEYS } from "./retrieval-metrics.js";
export type { RetrievalMetrics, UserHitsListener, UserMetricKey, UserMetricValues } from "./retrieval-metrics.js";
export { recommendationBias, DEFAULT_BIAS_OPTIONS } from "./recommendation-bias.js";
export type { RecommendationBias, BiasDimension, BiasGroup, BiasOptions } from "./recommendation-bias.js";
export { similarUserAccuracy } from "./similar-user-accuracy.js";
export { fitItemKnn, itemKnnFromGram, fitEase, easeFromGram, itemGram, itemToItemBaseline } from "./item-to-item-baselines.js";
export type { ItemToItemModel, Histories } from "./item-to-item-baselines.js";
export {
  fitBaselines,
  evaluateBaselines,
  scoreBaselines,
  tuneBaselines,
  BASELINES,
  BASELINE_LABELS,
  DEFAULT_BASELINE_GRID,
  DEFAULT_EASE_LAMBDA,
  DEFAULT_KNN_SHRINK,
} from "./fit-baselines.js";
export type { BaselineGrid, BaselineMetrics, BaselineName, BaselineParams, BaselineTrial, BaselineTuning, FittedBaselines } from "./fit-baselines.js";
export { invertSymmetricMatrix } from "./invert-symmetric-matrix.js";
export { contextSources, DEFAULT_NEIGHBOURS_K, evaluateServedPolicy, servedPolicyModel, NEIGHBOUR_METHODS, fitPolicyWeights, neighboursOf, poolOf, topOfPool, weightGrid } from "./served-policy-evaluation.js";
export type { NeighbourMethod, ItemToItemFits, FittedPolicyWeights, PolicyContext, PolicyModel } from "./served-policy-evaluation.js";
export { pairedBootstrap, DEFAULT_BOOTSTRAP_RESAMPLES } from "./paired-bootstrap.js";
export type { BootstrapOptions, PairedInterval, Verdict } from "./paired-bootstrap.js";
export { collectPerUser, pairedValues } from "./per-user-metrics.js";
export type { PerUserMetrics } from "./per-user-metrics.js";
export { compareRankers, COMPARED_METRICS } from "./compare-rankers.js";
export type { RankerComparison } from "./compare-rankers.js";
