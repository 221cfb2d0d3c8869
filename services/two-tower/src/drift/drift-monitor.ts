// The live side of drift for one model version: the rows it encodes are counted on the bins of its reference
// profile in a rolling window, and compared with the reference by PSI whenever someone asks (metrics scrape,
// status RPC, the offline CLI). Counting is a few increments per row; no raw value is kept.
import type { DistributionDrift, ModelDrift } from "@funnel/proto";
import type { ItemTensors, UserTensors } from "../features/encode-features.js";
import type { FeatureSpec } from "../features/feature-spec.js";
import { DriftLayout, dot, type FeatureProfile, meanVector } from "./feature-profile.js";
import { populationStabilityIndex, sum } from "./population-stability-index.js";
import { RollingCounts } from "./rolling-counts.js";

export interface DriftMonitorOptions {
  /** Rows (encoded users and items) the rolling window holds. */
  windowRows: number;
  /** Segments of the window (see RollingCounts). */
  segments?: number;
  /** Fewest live counts of a histogram before its PSI is reported: PSI of a handful of rows is noise. */
  minObservations?: number;
}

export const DEFAULT_DRIFT_OPTIONS = { windowRows: 10_000, segments: 10, minObservations: 100 } as const;

/** What a drift report holds: a ModelDrift without the slot's name, version and kind (the runtime adds them). */
export type DriftReport = Omit<ModelDrift, "name" | "version" | "kind">;

export class DriftMonitor {
  private readonly counts: RollingCounts | undefined;
  private readonly layout: DriftLayout | undefined;
  private readonly centroid: Float64Array | undefined;
  private readonly minObservations: number;

  private constructor(
    source: { layout: DriftLayout; centroid: Float64Array } | undefined,
    options: DriftMonitorOptions,
    /** Why there is nothing to compare with, when there is not. */
    readonly unavailableReason: string,
  ) {
    this.minObservations = options.minObservations ?? DEFAULT_DRIFT_OPTIONS.minObservations;
    if (source) {
      this.layout = source.layout;
      this.centroid = source.centroid;
      this.counts = new RollingCounts({ bins: source.layout.bins, windowRows: options.windowRows, segments: options.segments ?? DEFAULT_DRIFT_OPTIONS.segments });
    }
  }

  /**
   * A monitor comparing with `profile`; the item embeddings (row-major [n, dim]) give the catalogue's mean
   * vector that a user's prediction score is taken against.
   */
  static of(spec: FeatureSpec, profile: FeatureProfile, itemEmbeddings: Float32Array, dim: number, options: DriftMonitorOptions): DriftMonitor {
    return new DriftMonitor({ layout: new DriftLayout(spec, profile), centroid: meanVector(itemEmbeddings, dim) }, options, "");
  }

  /** A monitor that observes nothing and reports drift as unavailable, saying why. */
  static unavailable(reason: string, options: Partial<DriftMonitorOptions> = {}): DriftMonitor {
    return new DriftMonitor(undefined, { windowRows: 0, ...options }, reason);
  }

  get available(): boolean {
    return this.layout !== undefined;
  }

  /** Bins of one encoded user row, to pass to observeUser once its vector is known (or later, from a cache). */
  userBins(t: UserTensors, row = 0): number[] | undefined {
    return this.layout?.userBins(t, row);
  }

  itemBins(t: ItemTensors, row = 0): number[] | undefined {
    return this.layout?.itemBins(t, row);
  }

  /** Counts a user row: its feature bins and the bin of its prediction score (vector · catalogue mean). */
  observeUser(bins: number[] | undefined, vector: Float32Array): void {
    if (!bins || !this.counts) return;
    const score = this.layout!.predictionBin(dot(vector, 0, this.centroid!));
    // The push and pop keep the cached list as it was without copying it.
    if (score >= 0) bins.push(score);
    this.counts.observe(bins);
    if (score >= 0) bins.pop();
  }

  observeItem(bins: number[] | undefined): void {
    if (bins && this.counts) this.counts.observe(bins);
  }

  /** Reference and live histograms with their PSI, per feature, overall and for the prediction score. */
  report(): DriftReport {
    const counts = this.counts;
    const layout = this.layout;
    const base: DriftReport = {
      available: layout !== undefined,
      unavailableReason: this.unavailableReason,
      observations: counts?.observed ?? 0,
      windowRows: counts?.windowRows ?? 0,
      windowCapacity: counts?.capacity ?? 0,
      minObservations: this.minObservations,
      featurePsi: 0,
      featurePsiAvailable: false,
      features: [],
    };
    if (!layout || !counts) return base;
    const drift = ({ histogram, offset }: { histogram: FeatureProfile["features"][number]; offset: number }): DistributionDrift => {
      const live = counts.totals.subarray(offset, offset + histogram.bins.length);
      return compareHistograms(histogram.name, histogram.kind, histogram.bins, histogram.counts, live, this.minObservations);
    };
    const features = [...layout.users, ...layout.items].map(drift);
    const available = features.filter((f) => f.psiAvailable);
    return {
      ...base,
      features,
      ...(layout.prediction ? { prediction: drift(layout.prediction) } : {}),
      featurePsi: available.length === 0 ? 0 : sum(available.map((f) => f.psi)) / available.length,
      featurePsiAvailable: available.length > 0,
    };
  }
}

/** One histogram pair as the report carries it: shares per bin, totals and PSI. */
export function compareHistograms(
  name: string,
  kind: string,
  bins: string[],
  reference: ArrayLike<number>,
  live: ArrayLike<number>,
  minObservations: number,
): DistributionDrift {
  const referenceCount = sum(reference);
  const liveCount = sum(live);
  const psi = liveCount >= Math.max(1, minObservations) ? populationStabilityIndex(reference, live) : undefined;
  return {
    name,
    kind,
    bins,
    reference: shares(reference, referenceCount),
    live: shares(live, liveCount),
    referenceCount,
    liveCount,
    psi: psi ?? 0,
    psiAvailable: psi !== undefined,
  };
}

function shares(counts: ArrayLike<number>, total: number): number[] {
  return Array.from(counts, (c) => (total > 0 ? c / total : 0));
}
