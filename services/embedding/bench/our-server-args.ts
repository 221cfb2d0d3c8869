// How the benchmark starts our EmbeddingService: the command-line settings of each scenario.

export interface OurSettings {
  /** Largest batch the micro-batcher forms; 1 turns batching off. */
  maxBatch: number;
  batchDelayMs: number;
  /** Response cache entries; 0 turns the cache off. */
  cacheEntries: number;
  /** Rows in the drift profile's rolling window; 0 turns profiling off. */
  driftWindow: number;
}

/** Only the settings a scenario changes; the rest stay the service's defaults (reported as such). */
export const OUR_SETTINGS = {
  batchingOff: { maxBatch: 1 },
  cacheOff: { cacheEntries: 0 },
  driftOff: { driftWindow: 0 },
} as const satisfies Record<string, Partial<OurSettings>>;

export interface OurServerPlace {
  /** File registry holding the model under "two-tower", alias production. */
  registryDir: string;
  /** This server's own download cache (servers must not share one while they download). */
  modelCacheDir: string;
  salt: string;
}

/** argv for our-server.ts: the registry, quiet logs, free ports, no alias polling, the scenario's settings. */
export function embeddingServerArgs(place: OurServerPlace, settings: Partial<OurSettings>): string[] {
  const args = ["--port", "0", "--metrics-port", "0", "--log-level", "warn", "--registry", "file", "--registry-dir", place.registryDir, "--model-cache-dir", place.modelCacheDir, "--pseudonym-salt", place.salt, "--model-poll-ms", "0"];
  if (settings.maxBatch !== undefined) args.push("--embedding-max-batch", String(settings.maxBatch));
  if (settings.batchDelayMs !== undefined) args.push("--embedding-batch-delay-ms", String(settings.batchDelayMs));
  if (settings.cacheEntries !== undefined) args.push("--embedding-cache-entries", String(settings.cacheEntries));
  if (settings.driftWindow !== undefined) args.push("--embedding-drift-window", String(settings.driftWindow));
  return args;
}
