export { sentimentModule } from "./sentiment-module.js";
export { sentimentSettings } from "./config.js";
export type { SentimentConfig } from "./config.js";
export { SentimentAnalyzer } from "./sentiment-analyzer.js";
export { sentimentHandlers } from "./grpc/handlers.js";
export { RuleScorer, DEFAULT_RULES_PATH } from "./scoring/index.js";
export type { PageName, SentimentScore, Contribution } from "./scoring/index.js";
export { FeedbackAggregator } from "./aggregation/index.js";
export { TransformerClassifier, polarityOfLabel, maxLengthOf } from "./transformer/transformer-classifier.js";
export type { TransformerPrediction, TransformerClassifierOptions, LabelPolarity } from "./transformer/transformer-classifier.js";
export {
  decideHybrid,
  needsTransformer,
  readHybridPolicy,
  parseHybridPolicy,
  DEFAULT_HYBRID_POLICY,
  HYBRID_POLICY_FILE,
} from "./transformer/hybrid-policy.js";
export type { HybridPolicy, HybridDecision, HybridMethod } from "./transformer/hybrid-policy.js";
export { SentimentTransformer } from "./transformer/sentiment-transformer.js";
