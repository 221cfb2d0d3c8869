import { setting, type ConfigOf } from "@funnel/runtime";

/** Sentiment service settings; merged with the runtime's serving settings by the entry points. */
export const sentimentSettings = {
  maxTextChars: setting.integer({
    env: "FUNNEL_SENTIMENT_MAX_TEXT_CHARS",
    flag: "--sentiment-max-text-chars",
    default: 5_000,
    min: 1,
    max: 1_000_000,
    description: "Longest text (in characters) one analysis accepts; longer texts get INVALID_ARGUMENT.",
  }),
  maxBatchItems: setting.integer({
    env: "FUNNEL_SENTIMENT_MAX_BATCH",
    flag: "--sentiment-max-batch",
    default: 256,
    min: 1,
    max: 100_000,
    description: "Most texts in one AnalyzeBatch call.",
  }),
  maxStreamRecords: setting.integer({
    env: "FUNNEL_SENTIMENT_MAX_STREAM_RECORDS",
    flag: "--sentiment-max-stream-records",
    default: 1_000_000,
    min: 1,
    max: 100_000_000,
    description: "Most records one AggregateFeedback stream may send; more get RESOURCE_EXHAUSTED.",
  }),
  cacheEntries: setting.integer({
    env: "FUNNEL_SENTIMENT_CACHE_ENTRIES",
    flag: "--sentiment-cache-entries",
    default: 10_000,
    min: 0,
    max: 10_000_000,
    description: "LRU cache size for repeated (page, text) analyses; 0 disables the cache.",
  }),
  rulesPath: setting.text({
    env: "FUNNEL_SENTIMENT_RULES",
    flag: "--sentiment-rules",
    default: "",
    allowEmpty: true,
    description: "Page rule set JSON file; empty uses the versioned rule set shipped with the service.",
  }),
  transformerModel: setting.text({
    env: "FUNNEL_SENTIMENT_TRANSFORMER_MODEL",
    flag: "--sentiment-transformer-model",
    default: "sentiment-transformer",
    description: "Registered transformer (Hugging Face sequence-classification layout) that decides when the rules are unsure.",
  }),
  transformerRef: setting.text({
    env: "FUNNEL_SENTIMENT_TRANSFORMER_REF",
    flag: "--sentiment-transformer-ref",
    default: "production",
    allowEmpty: true,
    description: "Alias to follow or version to pin; empty serves rules only. Until a version exists the service serves rules only and keeps watching.",
  }),
  transformerMaxBatch: setting.integer({
    env: "FUNNEL_SENTIMENT_TRANSFORMER_MAX_BATCH",
    flag: "--sentiment-transformer-max-batch",
    default: 32,
    min: 1,
    max: 1_024,
    description: "Most texts in one transformer run; texts of concurrent calls are coalesced up to this.",
  }),
  transformerBatchDelayMs: setting.integer({
    env: "FUNNEL_SENTIMENT_TRANSFORMER_BATCH_DELAY_MS",
    flag: "--sentiment-transformer-batch-delay-ms",
    default: 2,
    min: 0,
    max: 1_000,
    description: "Longest a text waits for others while a transformer batch runs.",
  }),
  transformerMaxQueue: setting.integer({
    env: "FUNNEL_SENTIMENT_TRANSFORMER_MAX_QUEUE",
    flag: "--sentiment-transformer-max-queue",
    default: 4_096,
    min: 1,
    max: 1_000_000,
    description: "Most texts waiting for the transformer; beyond it calls get RESOURCE_EXHAUSTED (retry later).",
  }),
};

export type SentimentConfig = ConfigOf<typeof sentimentSettings>;
