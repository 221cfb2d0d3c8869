import { SimilarityServiceService } from "@funnel/proto";
import type { ServiceModule } from "@funnel/runtime";
import { DEVELOPMENT_PSEUDONYM_SALT } from "@funnel/two-tower";
import { similaritySettings } from "./config.js";
import { milvusCatalogFrom } from "./milvus-catalog-from.js";
import { similarityHandlers } from "./grpc/handlers.js";
import { indexedTwoTowerSlot } from "./indexed-two-tower.js";
import { indexedServiceLifecycle } from "./milvus-readiness.js";
import { UserSimilarity } from "./user-similarity.js";

/** The Similarity service as a module: runs alone (main.ts) or inside the embedded platform. */
export const similarityModule: ServiceModule<typeof similaritySettings> = {
  name: "similarity",
  namespace: "similarity",
  settings: similaritySettings,
  register(server, config, log, shared) {
    const milvus = milvusCatalogFrom(config.milvus.address, config.milvus.security);
    const slot = indexedTwoTowerSlot(shared, config.model, config.modelRef, { exactBelow: config.exactBelow, milvus, retiredGraceMs: config.milvus.retiredGraceMs });
    const similarity = new UserSimilarity(slot, shared.models.pseudonymSaltOr(DEVELOPMENT_PSEUDONYM_SALT));
    const name = server.addService(SimilarityServiceService, similarityHandlers(similarity, config));
    // Readiness follows the slot and, with Milvus, whether Milvus answers (calls meanwhile get UNAVAILABLE).
    return indexedServiceLifecycle({ server, service: name, slot, milvus, checkMs: config.milvus.checkMs, log });
  },
};
