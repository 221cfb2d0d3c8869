import { RecommendationServiceService } from "@funnel/proto";
import type { ServiceModule } from "@funnel/runtime";
import { indexedServiceLifecycle, indexedTwoTowerSlot, milvusCatalogFrom } from "@funnel/similarity";
import { DEVELOPMENT_PSEUDONYM_SALT } from "@funnel/two-tower";
import { recommendationSettings } from "./config.js";
import { recommendationHandlers } from "./grpc/handlers.js";
import { Recommender } from "./recommender.js";
import { ServedRecommendationLog } from "./served-recommendation-log.js";

/** The Recommendation service as a module: runs alone (main.ts) or inside the embedded platform. */
export const recommendationModule: ServiceModule<typeof recommendationSettings> = {
  name: "recommendation",
  namespace: "recommendation",
  settings: recommendationSettings,
  register(server, config, log, shared) {
    // Same model, ref and index settings as the similarity service = the same slot: one copy per process.
    const milvus = milvusCatalogFrom(config.milvus.address, config.milvus.security);
    const slot = indexedTwoTowerSlot(shared, config.model, config.modelRef, { exactBelow: config.exactBelow, milvus, retiredGraceMs: config.milvus.retiredGraceMs });
    const salt = shared.models.pseudonymSaltOr(DEVELOPMENT_PSEUDONYM_SALT);
    const recommender = new Recommender({
      slot,
      salt,
      similarUsersWeight: config.similarUsersWeight,
      similarUsers: config.similarUsers,
      contextWeight: config.contextWeight,
    });
    const servedLog = config.servedLogDir
      ? new ServedRecommendationLog(salt, {
          dir: config.servedLogDir,
          sampleRate: config.servedLogSampleRate,
          maxQueue: config.servedLogMaxQueue,
          maxFileBytes: config.servedLogMaxFileMb * 1024 * 1024,
          registry: server.metrics.registry,
          log,
        })
      : undefined;
    const name = server.addService(RecommendationServiceService, recommendationHandlers(recommender, config, servedLog));
    const lifecycle = indexedServiceLifecycle({ server, service: name, slot, milvus, checkMs: config.milvus.checkMs, log });
    if (!servedLog) return lifecycle;
    // After in-flight calls drained: write what the log still holds.
    return { load: lifecycle.load, close: () => Promise.all([lifecycle.close(), servedLog.close()]).then(() => undefined) };
  },
};
