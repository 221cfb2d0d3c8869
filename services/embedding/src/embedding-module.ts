import { EmbeddingServiceService } from "@funnel/proto";
import type { ServiceModule } from "@funnel/runtime";
import { DEVELOPMENT_PSEUDONYM_SALT, ServedTwoTower, servedDriftOptions } from "@funnel/two-tower";
import { embeddingSettings } from "./config.js";
import { Embedder } from "./embedder.js";
import { encodeEmbeddingsResponse } from "./grpc/encode-embeddings-response.js";
import { embeddingHandlers } from "./grpc/handlers.js";

/** Slot kind shared by every service that serves the two-tower model (one loaded copy per process). */
export const TWO_TOWER_SLOT_KIND = "two-tower";

/** The generated service definition with the responses written by the faster, wire-identical encoder. */
const EMBEDDING_SERVICE = {
  ...EmbeddingServiceService,
  embedUsers: { ...EmbeddingServiceService.embedUsers, responseSerialize: encodeEmbeddingsResponse },
  embedItems: { ...EmbeddingServiceService.embedItems, responseSerialize: encodeEmbeddingsResponse },
} satisfies typeof EmbeddingServiceService;

/** The Embedding service as a module: runs alone (main.ts) or inside the embedded platform. */
export const embeddingModule: ServiceModule<typeof embeddingSettings> = {
  name: "embedding",
  namespace: "embedding",
  settings: embeddingSettings,
  register(server, config, _log, shared) {
    const slot = shared.models.slot({
      name: config.model,
      ref: config.modelRef,
      kind: TWO_TOWER_SLOT_KIND,
      load: (dir, version) => ServedTwoTower.load(dir, version, { ...servedDriftOptions(shared.models, config.model), salt: shared.models.pseudonymSaltCheck(DEVELOPMENT_PSEUDONYM_SALT) }),
    });
    const embedder = new Embedder({
      slot,
      salt: shared.models.pseudonymSaltOr(DEVELOPMENT_PSEUDONYM_SALT),
      maxBatch: config.maxBatch,
      batchDelayMs: config.batchDelayMs,
      maxQueue: config.maxQueue,
      cacheEntries: config.cacheEntries,
      metricsRegistry: server.metrics.registry,
    });
    const name = server.addService(EMBEDDING_SERVICE, embeddingHandlers(embedder, config));
    // Readiness follows the slot: NOT_SERVING until the first version is loaded; a swap never drops it.
    slot.onReadyChange((ready) => server.setReady(name, ready));
    return async () => {
      await slot.start();
      server.setReady(name, slot.ready);
    };
  },
};

