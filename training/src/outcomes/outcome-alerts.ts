// Compares each version's online figures with its offline evaluation and with the previous version of the
// same model, and raises an alert where a version fell more than the allowed share below either.
import type { VersionOutcome } from "./join-outcomes.js";

/** What a drop is measured against; the `baseline` label of funnel_online_accuracy_drop. */
export type Baseline = "offline_recall" | "previous_hit_rate" | "previous_conversion_rate";

export interface OutcomeComparison {
  model: string;
  version: string;
  baseline: Baseline;
  /** The baseline's figure: the offline metric, or the previous version's online rate. */
  expected: number;
  /** This version's online rate compared with it. */
  observed: number;
  /** (expected - observed) / expected: 0.25 means 25 % below; negative means above. */
  drop: number;
  /** The version compared with, for the previous-version baselines. */
  previousVersion?: string;
  alert: boolean;
}

export interface OutcomeAlertOptions {
  /** Largest allowed relative drop below a baseline, e.g. 0.2. */
  maxDrop: number;
  /** Versions with fewer joined recommendations are reported but neither compared nor alerted on. */
  minServed: number;
  /** The offline metric's name, for messages (e.g. "recall@10"). */
  offlineMetric: string;
}

export interface OutcomeAlerts {
  comparisons: OutcomeComparison[];
  /** Versions left out of the comparison, with why. */
  skipped: { model: string; version: string; reason: string }[];
  /** One readable line per alert. */
  alerts: string[];
}

/**
 * `versions` sorted by model and version (as joinOutcomes returns them); `offline` maps `model\u0000version`
 * to the version's offline figure (absent: not compared with it). The previous version is the closest
 * lower version of the same model with enough joined recommendations.
 */
export function outcomeAlerts(versions: readonly VersionOutcome[], offline: ReadonlyMap<string, number>, options: OutcomeAlertOptions): OutcomeAlerts {
  const comparisons: OutcomeComparison[] = [];
  const skipped: OutcomeAlerts["skipped"] = [];
  const alerts: string[] = [];
  let previous: VersionOutcome | undefined;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const compare = (v: VersionOutcome, baseline: Baseline, expected: number, observed: number, what: string, previousVersion?: string) => {
    const drop = expected > 0 ? (expected - observed) / expected : 0;
    const alert = drop > options.maxDrop;
    comparisons.push({ model: v.model, version: v.version, baseline, expected, observed, drop, ...(previousVersion ? { previousVersion } : {}), alert });
    if (alert) alerts.push(`${v.model} version ${v.version}: ${what} is ${pct(drop)} below its baseline (${observed.toFixed(4)} vs ${expected.toFixed(4)}; allowed ${pct(options.maxDrop)}) over ${v.served} recommendations`);
  };
  for (const v of versions) {
    if (previous && previous.model !== v.model) previous = undefined;
    if (v.served < options.minServed) {
      skipped.push({ model: v.model, version: v.version, reason: `${v.served} joined recommendations, fewer than --min-served ${options.minServed}` });
      continue;
    }
    const figure = offline.get(`${v.model}\u0000${v.version}`);
    if (figure === undefined) skipped.push({ model: v.model, version: v.version, reason: `no offline ${options.offlineMetric} found for this version` });
    else compare(v, "offline_recall", figure, v.hitRate, `online hit rate against offline ${options.offlineMetric}`);
    if (previous) {
      compare(v, "previous_hit_rate", previous.hitRate, v.hitRate, `online hit rate against version ${previous.version}`, previous.version);
      compare(v, "previous_conversion_rate", previous.conversionRate, v.conversionRate, `online conversion rate against version ${previous.version}`, previous.version);
    }
    previous = v;
  }
  return { comparisons, skipped, alerts };
}
