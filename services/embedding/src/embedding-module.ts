import { EmbeddingServiceService } from "@funnel/proto";
import type { ServiceModule } from "@funnel/runtime";
import { DEFAULT_DRIFT_OPTIONS, DEVELOPMENT_PSEUDONYM_SALT, type DriftMonitorOptions, ServedTwoTower } from "@funnel/two-tower";
import { type EmbeddingConfig, embeddingSettings } from "./config.js";
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

function driftOptions(config: EmbeddingConfig): DriftMonitorOptions | undefined {
  if (config.driftWindow === 0) return undefined;
  // The ring needs a row per segment: a tiny window gets fewer segments rather than a start-up error.
  const segments = Math.min(DEFAULT_DRIFT_OPTIONS.segments, config.driftWindow);
  return { windowRows: config.driftWindow, segments, minObservations: config.driftMinObservations };
}

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
      load: (dir, version) => ServedTwoTower.load(dir, version, { drift: driftOptions(config) }),
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

