import { RecommendationServiceService } from "@funnel/proto";
import type { ServiceModule } from "@funnel/runtime";
import { indexedServiceLifecycle, indexedTwoTowerSlot, milvusCatalogFrom } from "@funnel/similarity";
import { DEVELOPMENT_PSEUDONYM_SALT } from "@funnel/two-tower";
import { recommendationSettings } from "./config.js";
import { recommendationHandlers } from "./grpc/handlers.js";
import { Recommender } from "./recommender.js";

/** The Recommendation service as a module: runs alone (main.ts) or inside the embedded platform. */
export const recommendationModule: ServiceModule<typeof recommendationSettings> = {
  name: "recommendation",
  namespace: "recommendation",
  settings: recommendationSettings,
  register(server, config, log, shared) {
    // Same model, ref and index settings as the similarity service = the same slot: one copy per process.
    const milvus = milvusCatalogFrom(config.milvusAddress, config.milvusSecurity);
    const slot = indexedTwoTowerSlot(shared, config.model, config.modelRef, { exactBelow: config.exactBelow, milvus, retiredGraceMs: config.milvusRetiredGraceMs });
    const recommender = new Recommender({
      slot,
      salt: shared.models.pseudonymSaltOr(DEVELOPMENT_PSEUDONYM_SALT),
      similarUsersWeight: config.similarUsersWeight,
      similarUsers: config.similarUsers,
      contextWeight: config.contextWeight,
    });
    const name = server.addService(RecommendationServiceService, recommendationHandlers(recommender, config));
    return indexedServiceLifecycle({ server, service: name, slot, milvus, checkMs: config.milvusCheckMs, log });
  },
};
