export { recommendationModule } from "./recommendation-module.js";
export { recommendationSettings } from "./config.js";
export type { RecommendationConfig } from "./config.js";
export { Recommender } from "./recommender.js";
export type { Guidance, ItemSource, NextStep, RecommendContext, RecommendedItem, RecommendRequest, RecommenderOptions } from "./recommender.js";
