export { sentimentModule } from "./sentiment-module.js";
export { sentimentSettings } from "./config.js";
export type { SentimentConfig } from "./config.js";
export { SentimentAnalyzer } from "./sentiment-analyzer.js";
export { sentimentHandlers } from "./grpc/handlers.js";
export { RuleScorer, DEFAULT_RULES_PATH } from "./scoring/index.js";
export type { PageName, SentimentScore, Contribution } from "./scoring/index.js";
export { FeedbackAggregator } from "./aggregation/index.js";
