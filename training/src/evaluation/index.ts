export { evaluateRetrieval, popularityBaseline, rankAndScore, topOfScores } from "./retrieval-metrics.js";
export type { RetrievalMetrics } from "./retrieval-metrics.js";
export { similarUserAccuracy } from "./similar-user-accuracy.js";
export { fitItemKnn, fitEase, itemGram, itemToItemBaseline } from "./item-to-item-baselines.js";
export type { ItemToItemModel, Histories } from "./item-to-item-baselines.js";
export { fitBaselines, evaluateBaselines, BASELINES, BASELINE_LABELS, DEFAULT_EASE_LAMBDA, DEFAULT_KNN_SHRINK } from "./fit-baselines.js";
export type { BaselineMetrics, BaselineName, FittedBaselines } from "./fit-baselines.js";
export { invertSymmetricMatrix } from "./invert-symmetric-matrix.js";
