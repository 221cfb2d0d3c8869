import { setting, type ConfigOf } from "@funnel/runtime";

/** Embedding service settings; model source and cache directory are the runtime's model settings. */
export const embeddingSettings = {
  model: setting.text({
    env: "FUNNEL_EMBEDDING_MODEL",
    flag: "--embedding-model",
    default: "two-tower",
    description: "Registered two-tower model to serve.",
  }),
  modelRef: setting.text({
    env: "FUNNEL_EMBEDDING_MODEL_REF",
    flag: "--embedding-model-ref",
    default: "production",
    description: "Alias to follow (hot-swapped when it moves) or a version number to pin.",
  }),
  maxInputs: setting.integer({
    env: "FUNNEL_EMBEDDING_MAX_INPUTS",
    flag: "--embedding-max-inputs",
    default: 1_024,
    min: 1,
    max: 100_000,
    description: "Most users or items in one request; more get INVALID_ARGUMENT.",
  }),
  maxBatch: setting.integer({
    env: "FUNNEL_EMBEDDING_MAX_BATCH",
    flag: "--embedding-max-batch",
    default: 64,
    min: 1,
    max: 4_096,
    description: "Most feature rows in one ONNX run; rows of concurrent calls are coalesced up to this. 1 turns batching off.",
  }),
  batchDelayMs: setting.integer({
    env: "FUNNEL_EMBEDDING_BATCH_DELAY_MS",
    flag: "--embedding-batch-delay-ms",
    default: 1,
    min: 0,
    max: 1_000,
    description: "Longest a feature row waits for others to fill its batch.",
  }),
  maxQueue: setting.integer({
    env: "FUNNEL_EMBEDDING_MAX_QUEUE",
    flag: "--embedding-max-queue",
    default: 8_192,
    min: 1,
    max: 1_000_000,
    description: "Most feature rows waiting for a batch; beyond it calls get RESOURCE_EXHAUSTED (retry later).",
  }),
  cacheEntries: setting.integer({
    env: "FUNNEL_EMBEDDING_CACHE_ENTRIES",
    flag: "--embedding-cache-entries",
    default: 50_000,
    min: 0,
    max: 10_000_000,
    description: "LRU cache of feature-row embeddings, keyed by model version; 0 disables it.",
  }),
  driftWindow: setting.integer({
    env: "FUNNEL_EMBEDDING_DRIFT_WINDOW",
    flag: "--embedding-drift-window",
    default: 10_000,
    min: 0,
    max: 10_000_000,
    description: "Feature rows in each served version's rolling drift profile (compared with its training profile by PSI); 0 turns profiling off.",
  }),
  driftMinObservations: setting.integer({
    env: "FUNNEL_EMBEDDING_DRIFT_MIN_OBSERVATIONS",
    flag: "--embedding-drift-min-observations",
    default: 100,
    min: 1,
    max: 10_000_000,
    description: "Fewest live counts of a feature before its PSI is reported (fewer is noise).",
  }),
};

export type EmbeddingConfig = ConfigOf<typeof embeddingSettings>;
