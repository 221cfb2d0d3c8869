// Population stability index between two histograms on the same bins: the drift figure of the reference
// (training) and live (served) distributions of one feature.

/**
 * Share that stands in for an empty bin. Without it a bin empty on one side makes ln(a/e) infinite; with it
 * one empty bin of a well-filled histogram adds at most about (share of the other side) × ln(share / 1e-4),
 * e.g. 0.1 × ln(1000) ≈ 0.69 for a bin holding 10 % on one side only: loud, as such a shift should be.
 */
export const PSI_EPSILON = 1e-4;

/** Below 0.1: no real shift; 0.1 to 0.25: watch; above 0.25: the population has drifted (common practice). */
export const PSI_THRESHOLDS = { watch: 0.1, drift: 0.25 } as const;

/**
 * PSI = Σ_i (a_i − e_i) · ln(a_i / e_i), where e_i = max(reference_i / Σ reference, ε) and
 * a_i = max(live_i / Σ live, ε), ε = PSI_EPSILON. Symmetric in the two sides, 0 for identical shares, never
 * negative. Counts, not shares, go in; undefined when either side has no observation at all.
 */
export function populationStabilityIndex(reference: ArrayLike<number>, live: ArrayLike<number>, epsilon = PSI_EPSILON): number | undefined {
  if (reference.length !== live.length) throw new RangeError(`PSI needs histograms on the same bins: ${reference.length} reference bins, ${live.length} live`);
  const referenceTotal = sum(reference);
  const liveTotal = sum(live);
  if (referenceTotal <= 0 || liveTotal <= 0) return undefined;
  let psi = 0;
  for (let i = 0; i < reference.length; i++) {
    const e = Math.max(reference[i]! / referenceTotal, epsilon);
    const a = Math.max(live[i]! / liveTotal, epsilon);
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

export function sum(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]!;
  return total;
}
