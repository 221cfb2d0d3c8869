import { describe, expect, it } from "vitest";
import { PSI_EPSILON, populationStabilityIndex } from "./population-stability-index.js";
import { RollingCounts } from "./rolling-counts.js";

/** Standard normal CDF through erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Deciles of the standard normal: ten bins of exactly 10 % each under N(0, 1). */
const DECILE_EDGES = [-1.2815515655, -0.8416212336, -0.5244005127, -0.2533471031, 0, 0.2533471031, 0.5244005127, 0.8416212336, 1.2815515655];

function binShares(shift: number): number[] {
  const cdf = [0, ...DECILE_EDGES.map((e) => normalCdf(e - shift)), 1];
  return cdf.slice(1).map((c, i) => c - cdf[i]!);
}

/** Seeded Box-Muller normals, binned on the decile edges. */
function sampledHistogram(shift: number, n: number, seed: number): number[] {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < n; i++) {
    const x = shift + Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    let bin = 0;
    while (bin < DECILE_EDGES.length && x > DECILE_EDGES[bin]!) bin++;
    counts[bin]!++;
  }
  return counts;
}

describe("populationStabilityIndex", () => {
  it("is (a − e)·ln(a / e) summed over bins: 0.3·ln 1.6 + 0.3·ln 2.5 = 0.3·ln 4 for 50/50 → 80/20", () => {
    expect(populationStabilityIndex([50, 50], [80, 20])).toBeCloseTo(0.3 * Math.log(4), 12);
    // Counts, not shares: the same shift at another scale gives the same index.
    expect(populationStabilityIndex([5, 5], [800, 200])).toBeCloseTo(0.3 * Math.log(4), 12);
    expect(populationStabilityIndex([3, 7, 11], [3, 7, 11])).toBe(0);
  });

  it("matches the analytic PSI of N(0,1) against N(0.5,1) on the reference deciles", () => {
    const live = binShares(0.5);
    const expected = live.reduce((s, a) => s + (a - 0.1) * Math.log(a / 0.1), 0);
    // The analytic value: about 0.24, between "watch" and "drift".
    expect(expected).toBeGreaterThan(0.2);
    expect(expected).toBeLessThan(0.3);
    expect(populationStabilityIndex(new Array(10).fill(1), live)).toBeCloseTo(expected, 10);
    // 200k samples of each: the estimate lands within sampling noise of the analytic value.
    const sampled = populationStabilityIndex(sampledHistogram(0, 200_000, 1), sampledHistogram(0.5, 200_000, 2))!;
    expect(Math.abs(sampled - expected)).toBeLessThan(0.01);
    // No shift: the sampled index is near zero (sampling noise only).
    expect(populationStabilityIndex(sampledHistogram(0, 200_000, 3), sampledHistogram(0, 200_000, 4))).toBeLessThan(0.002);
  });

  it("counts an empty bin as a share of epsilon", () => {
    const e = 0.5;
    const a = PSI_EPSILON;
    // Reference 50/50; live all in the first bin: (1 − 0.5)·ln(1 / 0.5) + (ε − 0.5)·ln(ε / 0.5).
    expect(populationStabilityIndex([1, 1], [10, 0])).toBeCloseTo((1 - e) * Math.log(1 / e) + (a - e) * Math.log(a / e), 12);
    expect(populationStabilityIndex([1, 1], [0, 0])).toBeUndefined();
    expect(() => populationStabilityIndex([1], [1, 2])).toThrow(/same bins/);
  });
});

describe("RollingCounts", () => {
  it("keeps only the most recent rows, a segment at a time", () => {
    const counts = new RollingCounts({ bins: 2, windowRows: 4, segments: 2 });
    for (let i = 0; i < 4; i++) counts.observe([0]);
    expect(Array.from(counts.totals)).toEqual([4, 0]);
    counts.observe([1]);
    // The oldest segment (two rows of bin 0) made room for the new row.
    expect(Array.from(counts.totals)).toEqual([2, 1]);
    expect(counts.windowRows).toBe(3);
    for (let i = 0; i < 3; i++) counts.observe([1, 1]);
    expect(Array.from(counts.totals)).toEqual([0, 7]);
    expect(counts.windowRows).toBe(4);
    expect(counts.observed).toBe(8);
    expect(() => new RollingCounts({ bins: 1, windowRows: 1, segments: 2 })).toThrow(/at least 2 rows/);
  });
});
