import { describe, expect, it } from "vitest";
import { linearSlope, memoryTrend, type MemorySample } from "./memory-trend.js";

const MIB = 1024 * 1024;
const samples = (rssMiB: (minute: number) => number): MemorySample[] =>
  Array.from({ length: 20 }, (_, i) => ({ atSeconds: i * 30, rssBytes: rssMiB(i / 2) * MIB, heapUsedBytes: 100 * MIB }));

describe("memoryTrend", () => {
  it("fits a least-squares slope", () => {
    expect(linearSlope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }])).toBeCloseTo(2, 10);
    expect(linearSlope([{ x: 1, y: 1 }])).toBe(0);
  });

  it("calls memory level when it grew early (warm-up) and is flat over the last half", () => {
    const trend = memoryTrend(samples((m) => 400 + 40 * Math.min(m, 3)), 1);
    expect(trend.rss.firstHalfMiBPerMin).toBeGreaterThan(10);
    expect(trend.rss.lastHalfMiBPerMin).toBeCloseTo(0, 6);
    expect(trend.levelsOff).toBe(true);
    expect(trend.verdict).toMatch(/^memory levels off/);
  });

  it("calls memory still growing when it keeps setting new highs faster than the tolerance", () => {
    const trend = memoryTrend(samples((m) => 400 + 3 * m), 1);
    expect(trend.rss.lastHalfMiBPerMin).toBeCloseTo(3, 6);
    expect(trend.rssPeakGrowthMiBPerMin).toBeCloseTo(3, 1);
    expect(trend.levelsOff).toBe(false);
    expect(trend.verdict).toMatch(/^memory still grows: RSS peak/);
  });

  it("does not take the allocator returning memory just after the midpoint for growth", () => {
    // Plateau at 460, a release to 430 at minute 5.5, back up to 450: the last-half slope is positive, yet no new high.
    const trend = memoryTrend(samples((m) => (m < 5.5 ? 460 : Math.min(450, 430 + 10 * (m - 5.5)))), 1);
    expect(trend.rss.lastHalfMiBPerMin).toBeGreaterThan(1);
    expect(trend.rssPeakGrowthMiBPerMin).toBeLessThan(0);
    expect(trend.levelsOff).toBe(true);
  });

  it("refuses to judge a run with too few samples", () => {
    expect(memoryTrend(samples((m) => 400 + m).slice(0, 5), 1)).toMatchObject({ levelsOff: false, verdict: expect.stringContaining("too few memory samples") });
  });
});
