import { type ConfigOf, setting } from "@funnel/runtime";
import { milvusSettings } from "@funnel/similarity";
import { DEFAULT_SIMILAR_USERS } from "@funnel/two-tower";

/** Recommendation service settings; model source and cache directory are the runtime's model settings. */
export const recommendationSettings = {
  model: setting.text({
    env: "FUNNEL_RECOMMENDATION_MODEL",
    flag: "--recommendation-model",
    default: "two-tower",
    description: "Registered two-tower model to recommend with.",
  }),
  modelRef: setting.text({
    env: "FUNNEL_RECOMMENDATION_MODEL_REF",
    flag: "--recommendation-model-ref",
    default: "production",
    description: "Alias to follow (the indexes are rebuilt and swapped with the version) or a version number to pin.",
  }),
  exactBelow: setting.integer({
    env: "FUNNEL_RECOMMENDATION_EXACT_BELOW",
    flag: "--recommendation-exact-below",
    default: 20_000,
    min: 0,
    max: 100_000_000,
    description: "Entities below which a version is indexed by exact search instead of HNSW (same value as the similarity service's = one shared index per version in embedded mode).",
  }),
  similarUsersWeight: setting.number({
    env: "FUNNEL_RECOMMENDATION_SIMILAR_USERS_WEIGHT",
    flag: "--recommendation-similar-users-weight",
    default: 0.3,
    min: 0,
    max: 1,
    description:
      "Versions without served-policy.json (trained before blend weights were fitted on validation): weight of items popular among similar users in the blend (1 - weight goes to item retrieval). Newer versions are served with their own fitted weights.",
  }),
  similarUsers: setting.integer({
    env: "FUNNEL_RECOMMENDATION_SIMILAR_USERS",
    flag: "--recommendation-similar-users",
    // The count training evaluates the served policy with (metrics.json `served`).
    default: DEFAULT_SIMILAR_USERS,
    min: 1,
    max: 1_000,
    description: "Similar users whose items are blended in and whose funnel paths guide the next step.",
  }),
  contextWeight: setting.number({
    env: "FUNNEL_RECOMMENDATION_CONTEXT_WEIGHT",
    flag: "--recommendation-context-weight",
    default: 0.2,
    min: 0,
    max: 10,
    description: "Re-ranking boost for items on the current or next funnel page and popular on the caller's device.",
  }),
  maxExcluded: setting.integer({
    env: "FUNNEL_RECOMMENDATION_MAX_EXCLUDED",
    flag: "--recommendation-max-excluded",
    default: 1_000,
    min: 0,
    max: 100_000,
    description: "Most exclude_item_ids plus context.recent_item_ids in one request; more get INVALID_ARGUMENT.",
  }),
  /** The Milvus connection's TLS and token: the similarity service's group, so both read the same settings. */
  milvus: milvusSettings,
  servedLogDir: setting.text({
    env: "FUNNEL_RECOMMENDATION_SERVED_LOG_DIR",
    flag: "--recommendation-served-log-dir",
    default: "",
    allowEmpty: true,
    description: "Directory of the served-recommendation log (JSON lines per UTC day, read by `npm run outcomes`); empty: no log.",
  }),
  servedLogSampleRate: setting.number({
    env: "FUNNEL_RECOMMENDATION_SERVED_LOG_SAMPLE_RATE",
    flag: "--recommendation-served-log-sample-rate",
    default: 0.1,
    min: 0,
    max: 1,
    description: "Share of RecommendItems answers written to the served-recommendation log.",
  }),
  servedLogMaxQueue: setting.integer({
    env: "FUNNEL_RECOMMENDATION_SERVED_LOG_MAX_QUEUE",
    flag: "--recommendation-served-log-max-queue",
    default: 10_000,
    min: 1,
    max: 10_000_000,
    description: "Records waiting to be written beyond which new ones are dropped (counted in funnel_log_records_total{result=\"dropped_queue_full\"}); a call never waits for the log.",
  }),
  servedLogMaxFileMb: setting.integer({
    env: "FUNNEL_RECOMMENDATION_SERVED_LOG_MAX_FILE_MB",
    flag: "--recommendation-served-log-max-file-mb",
    default: 256,
    min: 1,
    max: 100_000,
    description: "Size at which a day's log file is closed and the next one (.1, .2, ...) started.",
  }),
};

export type RecommendationConfig = ConfigOf<typeof recommendationSettings>;
