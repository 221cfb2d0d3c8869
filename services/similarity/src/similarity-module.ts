import { SimilarityServiceService } from "@funnel/proto";
import type { Logger, ServiceModule } from "@funnel/runtime";
import { DEVELOPMENT_PSEUDONYM_SALT } from "@funnel/two-tower";
import { similaritySettings } from "./config.js";
import { similarityHandlers } from "./grpc/handlers.js";
import { indexedTwoTowerSlot } from "./indexed-two-tower.js";
import { UserSimilarity } from "./user-similarity.js";

/** The Similarity service as a module: runs alone (main.ts) or inside the embedded platform. */
export const similarityModule: ServiceModule<typeof similaritySettings> = {
  name: "similarity",
  namespace: "similarity",
  settings: similaritySettings,
  register(server, config, log, shared) {
    const slot = indexedTwoTowerSlot(shared, config.model, config.modelRef, { exactBelow: config.exactBelow });
    const similarity = new UserSimilarity(slot, shared.models.pseudonymSalt ?? developmentSalt(log));
    const name = server.addService(SimilarityServiceService, similarityHandlers(similarity, config));
    // Readiness follows the slot: NOT_SERVING until the first version and its indexes are loaded.
    slot.onReadyChange((ready) => server.setReady(name, ready));
    return async () => {
      await slot.start();
      server.setReady(name, slot.ready);
    };
  },
};

export function developmentSalt(log: Logger): string {
  log.warn("FUNNEL_PSEUDONYM_SALT is not set: user ids are looked up with the development salt (fine for generated data only)");
  return DEVELOPMENT_PSEUDONYM_SALT;
}
