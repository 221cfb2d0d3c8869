import { type BootstrapOptions, type PairedInterval, pairedBootstrap } from "./paired-bootstrap.js";
import { type PerUserMetrics, pairedValues } from "./per-user-metrics.js";
import type { UserMetricKey } from "./retrieval-metrics.js";

/** other name → metric → interval of (ranker − other): what metrics.json keeps under `intervals`. */
export type RankerComparison = Record<string, Partial<Record<UserMetricKey, PairedInterval>>>;

/** The metrics every comparison reports (the headline pair of the issue and the report). */
export const COMPARED_METRICS: readonly UserMetricKey[] = ["recall@10", "ndcg@10"];

/**
 * Paired bootstrap intervals of one ranker (the model, or the served policy) against each other ranker, on the
 * same scored users. Each comparison draws its own seed from `seed` so adding a ranker changes no other interval.
 */
export function compareRankers(
  ranker: PerUserMetrics,
  others: Record<string, PerUserMetrics>,
  options: BootstrapOptions & { metrics?: readonly UserMetricKey[] } = {},
): RankerComparison {
  const metrics = options.metrics ?? COMPARED_METRICS;
  const out: RankerComparison = {};
  for (const [name, other] of Object.entries(others)) {
    out[name] = {};
    metrics.forEach((metric, m) => {
      const [a, b] = pairedValues(ranker, other, metric);
      out[name]![metric] = pairedBootstrap(a, b, { ...options, seed: (options.seed ?? 0) + 1000 * m + hash(name) });
    });
  }
  return out;
}

/** A small stable number from a name (FNV-1a), so a comparison's seed does not depend on its position. */
function hash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h % 100_000;
}
