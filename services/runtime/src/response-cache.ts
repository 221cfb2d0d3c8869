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

export class ResponseCache<V extends {}> {
  private readonly cache: LRUCache<string, V> | undefined;
  private readonly lookups: Counter<"cache" | "result"> | undefined;

  constructor(private readonly options: ResponseCacheOptions) {
    // maxEntries 0 disables caching (every call computes), e.g. to measure uncached cost.
    this.cache = options.maxEntries > 0 ? new LRUCache<string, V>({ max: options.maxEntries, ttl: options.ttlMs || undefined }) : undefined;
    if (options.registry) {
      this.lookups =
        (options.registry.getSingleMetric("funnel_cache_lookups_total") as Counter<"cache" | "result"> | undefined) ??
        new Counter({
          name: "funnel_cache_lookups_total",
          help: "Response cache lookups by cache and result (hit or miss).",
          labelNames: ["cache", "result"] as const,
          registers: [options.registry],
        });
    }
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }

  /** The cached value, counted as a hit or a miss; for values computed asynchronously (then `set`). */
  get(key: string): V | undefined {
    const hit = this.cache?.get(key);
    this.lookups?.inc({ cache: this.options.name, result: hit === undefined ? "miss" : "hit" });
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
