export { FeedbackAggregator, UNSPECIFIED } from "./feedback-aggregator.js";
export type { FeedbackObservation, Distribution, Group, FeedbackSummary } from "./feedback-aggregator.js";
