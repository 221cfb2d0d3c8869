import { RecommendationServiceService } from "@funnel/proto";
import type { ServiceModule } from "@funnel/runtime";
import { developmentSalt, indexedTwoTowerSlot } from "@funnel/similarity";
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
    const slot = indexedTwoTowerSlot(shared, config.model, config.modelRef, { exactBelow: config.exactBelow });
    const recommender = new Recommender({
      slot,
      salt: shared.models.pseudonymSalt ?? developmentSalt(log),
      similarUsersWeight: config.similarUsersWeight,
      similarUsers: config.similarUsers,
      contextWeight: config.contextWeight,
    });
    const name = server.addService(RecommendationServiceService, recommendationHandlers(recommender, config));
    slot.onReadyChange((ready) => server.setReady(name, ready));
    return async () => {
      await slot.start();
      server.setReady(name, slot.ready);
    };
  },
};
