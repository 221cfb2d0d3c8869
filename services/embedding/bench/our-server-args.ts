// How the benchmark starts our EmbeddingService: the command-line settings of each scenario.

export interface OurSettings {
  /** Largest batch the micro-batcher forms; 1 turns batching off. */
  maxBatch: number;
  maxBatchDelayMs: number;
  /** Response cache entries; 0 turns the cache off. */
  cacheEntries: number;
}

/** Only the settings a scenario changes; the rest stay the service's defaults (reported as such). */
export const OUR_SETTINGS = {
  batchingOff: { maxBatch: 1 },
  cacheOff: { cacheEntries: 0 },
} as const satisfies Record<string, Partial<OurSettings>>;

/** argv for our-server.ts: the model, quiet logs, free ports, and the scenario's settings. */
export function embeddingServerArgs(modelDir: string, salt: string, settings: Partial<OurSettings>): string[] {
  const args = ["--port", "0", "--metrics-port", "0", "--log-level", "warn", "--embedding-model-dir", modelDir, "--pseudonym-salt", salt];
  if (settings.maxBatch !== undefined) args.push("--embedding-max-batch", String(settings.maxBatch));
  if (settings.maxBatchDelayMs !== undefined) args.push("--embedding-batch-delay-ms", String(settings.maxBatchDelayMs));
  if (settings.cacheEntries !== undefined) args.push("--embedding-cache-entries", String(settings.cacheEntries));
  return args;
}
