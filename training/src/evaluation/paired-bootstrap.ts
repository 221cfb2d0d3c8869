import { createSeededRandom } from "../data/seeded-random.js";

/** How a ranker compares with another, read off the interval of the mean per-user difference. */
export type Verdict = "ahead" | "tie within noise" | "behind";

export interface PairedInterval {
  /** Mean over users of (a − b). */
  mean: number;
  /** Percentile bootstrap interval of that mean at `level`. */
  low: number;
  high: number;
  /** "ahead" when the whole interval is above 0, "behind" when below, otherwise "tie within noise". */
  verdict: Verdict;
  /** Users paired (each scored by both rankers). */
  users: number;
  resamples: number;
  level: number;
}

export interface BootstrapOptions {
  /** Resamples of the users (default 2000: the 2.5 % and 97.5 % percentiles then rest on 50 draws each). */
  resamples?: number;
  seed?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
}

export const DEFAULT_BOOTSTRAP_RESAMPLES = 2000;

/**
 * Per-user paired bootstrap of the mean difference a − b: users are resampled with replacement and both rankers'
 * values of a drawn user move together, so what varies between users (some are easy for everyone) cancels and the
 * interval is far tighter than two separate ones would be. `perUserA[i]` and `perUserB[i]` must be the same user.
 * Deterministic for a seed.
 */
export function pairedBootstrap(perUserA: ArrayLike<number>, perUserB: ArrayLike<number>, options: BootstrapOptions = {}): PairedInterval {
  const resamples = options.resamples ?? DEFAULT_BOOTSTRAP_RESAMPLES;
  const level = options.level ?? 0.95;
  if (perUserA.length !== perUserB.length) throw new RangeError(`pairedBootstrap: ${perUserA.length} values against ${perUserB.length}; pair the same users`);
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new RangeError(`pairedBootstrap: resamples must be an integer >= 1, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`pairedBootstrap: level must be in (0, 1), got ${level}`);
  const n = perUserA.length;
  if (n === 0) return { mean: Number.NaN, low: Number.NaN, high: Number.NaN, verdict: "tie within noise", users: 0, resamples, level };
  const diff = Float64Array.from({ length: n }, (_, i) => perUserA[i]! - perUserB[i]!);
  const mean = diff.reduce((a, b) => a + b, 0) / n;
  const rng = createSeededRandom(options.seed ?? 0);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += diff[rng.int(n)]!;
    means[r] = sum / n;
  }
  means.sort();
  const quantile = (q: number): number => {
    // Linear interpolation between order statistics (numpy's default).
    const at = q * (resamples - 1);
    const lo = Math.floor(at);
    const hi = Math.min(resamples - 1, lo + 1);
    return means[lo]! + (means[hi]! - means[lo]!) * (at - lo);
  };
  const low = quantile((1 - level) / 2);
  const high = quantile(1 - (1 - level) / 2);
  const verdict: Verdict = low > 0 ? "ahead" : high < 0 ? "behind" : "tie within noise";
  return { mean, low, high, verdict, users: n, resamples, level };
}
