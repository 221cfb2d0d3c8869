import { embeddingModule } from "@funnel/embedding";
import { recommendationModule } from "@funnel/recommendation";
import type { ServiceModule } from "@funnel/runtime";
import { sentimentModule } from "@funnel/sentiment";
import { similarityModule } from "@funnel/similarity";

/**
 * The services `npm start` runs together. Similarity and Recommendation share one indexed copy of each
 * two-tower version (same model, ref and index settings → one slot); Embedding holds the towers alone.
 */
export const embeddedModules: ServiceModule<any>[] = [sentimentModule, embeddingModule, similarityModule, recommendationModule];
