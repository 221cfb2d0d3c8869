// Does a long-running server's memory level off? A leak shows as memory still climbing late in a run; warm-up
// (JIT, caches filling, pools growing) shows as growth early on that stops. So the verdict compares the
// least-squares slope over the last half of the samples with a tolerance, and reports the first half's beside it.

export interface MemorySample {
  /** Seconds since the measured load started. */
  atSeconds: number;
  rssBytes: number;
  heapUsedBytes: number;
}

export interface SlopeSummary {
  /** Least-squares growth over the first half of the samples, MiB per minute. */
  firstHalfMiBPerMin: number;
  /** The same over the last half: what decides the verdict. */
  lastHalfMiBPerMin: number;
}

export interface MemoryTrend {
  rss: SlopeSummary;
  heapUsed: SlopeSummary;
  /** Largest last-half RSS growth still called level. */
  toleranceMiBPerMin: number;
  levelsOff: boolean;
  verdict: string;
}

const MIB = 1024 * 1024;

/** Least-squares slope of y over x; 0 with fewer than two distinct x. */
export function linearSlope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const p of points) {
    covariance += (p.x - meanX) * (p.y - meanY);
    variance += (p.x - meanX) ** 2;
  }
  return variance === 0 ? 0 : covariance / variance;
}

function halves(samples: readonly MemorySample[], value: (s: MemorySample) => number): SlopeSummary {
  const middle = Math.floor(samples.length / 2);
  const slope = (part: readonly MemorySample[]) => linearSlope(part.map((s) => ({ x: s.atSeconds / 60, y: value(s) / MIB })));
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { firstHalfMiBPerMin: round(slope(samples.slice(0, middle))), lastHalfMiBPerMin: round(slope(samples.slice(middle))) };
}

/** The memory verdict of a soak: RSS must grow by no more than `toleranceMiBPerMin` over the last half. */
export function memoryTrend(samples: readonly MemorySample[], toleranceMiBPerMin: number): MemoryTrend {
  const rss = halves(samples, (s) => s.rssBytes);
  const heapUsed = halves(samples, (s) => s.heapUsedBytes);
  if (samples.length < 8) {
    return { rss, heapUsed, toleranceMiBPerMin, levelsOff: false, verdict: `too few memory samples (${samples.length}; need 8) to judge; run longer` };
  }
  const levelsOff = rss.lastHalfMiBPerMin <= toleranceMiBPerMin;
  const verdict = levelsOff
    ? `memory levels off: RSS grew ${rss.lastHalfMiBPerMin} MiB/min over the last half (first half ${rss.firstHalfMiBPerMin}), within ${toleranceMiBPerMin} MiB/min`
    : `memory still grows: RSS ${rss.lastHalfMiBPerMin} MiB/min over the last half (first half ${rss.firstHalfMiBPerMin}), above ${toleranceMiBPerMin} MiB/min`;
  return { rss, heapUsed, toleranceMiBPerMin, levelsOff, verdict };
}
