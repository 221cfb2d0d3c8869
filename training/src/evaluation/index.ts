export { evaluateRetrieval, popularityBaseline, rankAndScore } from "./retrieval-metrics.js";
export type { RetrievalMetrics } from "./retrieval-metrics.js";
export { similarUserAccuracy } from "./similar-user-accuracy.js";
