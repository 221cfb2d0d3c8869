import { clientSecuritySettings, setting, type ConfigOf } from "@funnel/runtime";

/** TLS and credentials of the Milvus connection; one group, shared by every module that talks to Milvus. */
export const milvusSecuritySettings = clientSecuritySettings({ flag: "--milvus", env: "FUNNEL_MILVUS", what: "Milvus" });

/**
 * The one Milvus of a deployment, declared once and shared by every module that talks to it (similarity and
 * recommendation): one env var for the address, so a manifest cannot set a name the code does not read, and
 * in embedded mode both modules use one catalog and one slot per version.
 */
export const milvusSettings = {
  address: setting.text({
    env: "FUNNEL_MILVUS_ADDRESS",
    flag: "--milvus-address",
    default: "",
    allowEmpty: true,
    description: "host:port of Milvus. Empty: the embedded index. Set: each version's vectors are backfilled into its own collections, the alias moves after a counted backfill, and searches go to Milvus.",
  }),
  retiredGraceMs: setting.integer({
    env: "FUNNEL_MILVUS_RETIRED_GRACE_MS",
    flag: "--milvus-retired-grace-ms",
    default: 3_600_000,
    min: 0,
    max: 30 * 86_400_000,
    description: "How long a version's Milvus collections are kept after the alias moved off them (for rollback and in-flight readers); older ones are dropped when a new version is published.",
  }),
  checkMs: setting.integer({
    env: "FUNNEL_MILVUS_CHECK_MS",
    flag: "--milvus-check-ms",
    default: 5_000,
    min: 100,
    max: 600_000,
    description: "How often Milvus is pinged; while it does not answer the services that use it report NOT_SERVING.",
  }),
  security: milvusSecuritySettings,
};

/** Similarity service settings; model source and cache directory are the runtime's model settings. */
export const similaritySettings = {
  model: setting.text({
    env: "FUNNEL_SIMILARITY_MODEL",
    flag: "--similarity-model",
    default: "two-tower",
    description: "Registered two-tower model whose user vectors are searched.",
  }),
  modelRef: setting.text({
    env: "FUNNEL_SIMILARITY_MODEL_REF",
    flag: "--similarity-model-ref",
    default: "production",
    description: "Alias to follow (the index is rebuilt and swapped with the version) or a version number to pin.",
  }),
  exactBelow: setting.integer({
    env: "FUNNEL_SIMILARITY_EXACT_BELOW",
    flag: "--similarity-exact-below",
    default: 20_000,
    min: 0,
    max: 100_000_000,
    description: "Entities (users or items) below which a version is indexed by exact search instead of HNSW.",
  }),
  maxUpserts: setting.integer({
    env: "FUNNEL_SIMILARITY_MAX_UPSERTS",
    flag: "--similarity-max-upserts",
    default: 1_024,
    min: 1,
    max: 100_000,
    description: "Most user vectors in one UpsertUserVectors call; more get INVALID_ARGUMENT.",
  }),
  milvus: milvusSettings,
};

export type SimilarityConfig = ConfigOf<typeof similaritySettings>;
