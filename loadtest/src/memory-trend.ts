// Does a long-running server's memory level off? A leak keeps setting new highs late in a run; warm-up (JIT,
// caches filling, pools growing) is growth early on that stops, and RSS also drops now and then when the
// allocator returns memory. A slope fitted over the last half alone turns such a drop just after the midpoint
// into "growth", so the verdict compares peaks instead: the highest RSS of the last quarter against the highest
// of the second quarter, per minute between them, must stay within the tolerance. The least-squares slopes of
// both halves (RSS and heap) are reported beside it.

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
  /** Highest RSS in the second and in the last quarter of the run, MiB. */
  rssPeakMiB: { secondQuarter: number; lastQuarter: number };
  /** (last quarter's peak − second quarter's peak) per minute between the quarters' middles: the verdict's figure. */
  rssPeakGrowthMiBPerMin: number;
  /** Largest peak-to-peak RSS growth still called level. */
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

/** The memory verdict of a soak: RSS must set no new high beyond `toleranceMiBPerMin` late in the run. */
export function memoryTrend(samples: readonly MemorySample[], toleranceMiBPerMin: number): MemoryTrend {
  const rss = halves(samples, (s) => s.rssBytes);
  const heapUsed = halves(samples, (s) => s.heapUsedBytes);
  const quarter = (q: number) => samples.slice(Math.floor((q * samples.length) / 4), Math.floor(((q + 1) * samples.length) / 4));
  const [second, last] = [quarter(1), quarter(3)];
  const peak = (part: readonly MemorySample[]) => Math.max(...part.map((s) => s.rssBytes)) / MIB;
  const middle = (part: readonly MemorySample[]) => (part[0]!.atSeconds + part[part.length - 1]!.atSeconds) / 2 / 60;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  if (samples.length < 8) {
    return { rss, heapUsed, rssPeakMiB: { secondQuarter: 0, lastQuarter: 0 }, rssPeakGrowthMiBPerMin: 0, toleranceMiBPerMin, levelsOff: false, verdict: `too few memory samples (${samples.length}; need 8) to judge; run longer` };
  }
  const rssPeakMiB = { secondQuarter: round(peak(second)), lastQuarter: round(peak(last)) };
  const growth = round((rssPeakMiB.lastQuarter - rssPeakMiB.secondQuarter) / Math.max(1e-9, middle(last) - middle(second)));
  const levelsOff = growth <= toleranceMiBPerMin;
  const detail = `RSS peak ${rssPeakMiB.secondQuarter} MiB in the second quarter, ${rssPeakMiB.lastQuarter} MiB in the last (${growth} MiB/min; tolerance ${toleranceMiBPerMin}); least-squares RSS slope ${rss.firstHalfMiBPerMin} then ${rss.lastHalfMiBPerMin} MiB/min, heap ${heapUsed.firstHalfMiBPerMin} then ${heapUsed.lastHalfMiBPerMin}`;
  const verdict = levelsOff ? `memory levels off: ${detail}` : `memory still grows: ${detail}`;
  return { rss, heapUsed, rssPeakMiB, rssPeakGrowthMiBPerMin: growth, toleranceMiBPerMin, levelsOff, verdict };
}
