// LRU cache for responses to repeated requests, with hit/miss counters for the metrics endpoint.
import { LRUCache } from "lru-cache";
import { Counter, type Registry } from "prom-client";

export interface ResponseCacheOptions {
  /** Metric label, e.g. "sentiment". */
  name: string;
  maxEntries: number;
  /** Entries older than this are recomputed; 0 keeps them until evicted. */
  ttlMs?: number;
  registry?: Registry;
}

type SharedCounter = Counter<"cache" | "result"> & { sources: ((counter: Counter<"cache" | "result">) => void)[] };

export class ResponseCache<V extends {}> {
  private readonly cache: LRUCache<string, V> | undefined;
  // Counted in plain numbers, handed to prom-client when /metrics is scraped: a labelled prom-client
  // update per lookup showed in the per-call profile of the serving path.
  private readonly lookups = { hits: 0, misses: 0 };

  constructor(options: ResponseCacheOptions) {
    // maxEntries 0 disables caching (every call computes), e.g. to measure uncached cost.
    this.cache = options.maxEntries > 0 ? new LRUCache<string, V>({ max: options.maxEntries, ttl: options.ttlMs || undefined }) : undefined;
    if (options.registry) {
      // Several caches share one counter, each adding its own counts when it is collected.
      const existing = options.registry.getSingleMetric("funnel_cache_lookups_total") as SharedCounter | undefined;
      const counter: SharedCounter =
        existing ??
        Object.assign(
          new Counter({
            name: "funnel_cache_lookups_total",
            help: "Response cache lookups by cache and result (hit or miss).",
            labelNames: ["cache", "result"] as const,
            registers: [options.registry],
            collect() {
              this.reset();
              for (const report of counter.sources) report(this);
            },
          }),
          { sources: [] as ((counter: Counter<"cache" | "result">) => void)[] },
        );
      // Only the counts are kept by the counter, not the cache: a replaced cache's counts stay counted.
      const lookups = this.lookups;
      counter.sources.push((c) => {
        c.inc({ cache: options.name, result: "hit" }, lookups.hits);
        c.inc({ cache: options.name, result: "miss" }, lookups.misses);
      });
    }
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }

  /** The cached value, counted as a hit or a miss; for values computed asynchronously (then `set`). */
  get(key: string): V | undefined {
    const hit = this.cache?.get(key);
    if (hit !== undefined) this.lookups.hits++;
    else this.lookups.misses++;
    return hit;
  }

  set(key: string, value: V): void {
    this.cache?.set(key, value);
  }

  /** Returns the cached value for key, or computes, stores and returns it. */
  getOrCompute(key: string, compute: () => V): V {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const value = compute();
    this.cache?.set(key, value);
    return value;
  }

  clear(): void {
    this.cache?.clear();
  }
}
