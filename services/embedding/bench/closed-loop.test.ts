import { describe, expect, it } from "vitest";
import { percentile, runClosedLoop } from "./closed-loop.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("runClosedLoop", () => {
  it("keeps exactly `concurrency` calls in flight and counts only the measured window", async () => {
    let inFlight = 0;
    let peak = 0;
    let made = 0;
    const result = await runClosedLoop({
      concurrency: 4,
      warmupMs: 50,
      durationMs: 200,
      call: async () => {
        made++;
        peak = Math.max(peak, ++inFlight);
        await sleep(5);
        inFlight--;
      },
    });
    expect(peak).toBe(4);
    expect(result.calls).toBeLessThan(made); // warm-up calls were made, not counted
    // 4 callers × 200 ms / (5 ms + timer slack): a closed loop cannot exceed 4 / 5 ms = 800 calls/s.
    expect(result.callsPerSecond).toBeGreaterThan(20);
    expect(result.callsPerSecond).toBeLessThanOrEqual(800);
    expect(result.p50Ms).toBeGreaterThanOrEqual(4.5);
    expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
    expect(result.latenciesMs.length).toBe(result.calls);
  });

  it("counts failed calls as errors, not as throughput, and keeps the first message", async () => {
    let n = 0;
    const result = await runClosedLoop({
      concurrency: 1,
      warmupMs: 0,
      durationMs: 100,
      call: async () => {
        await sleep(2);
        if (n++ % 2 === 1) throw new Error("RESOURCE_EXHAUSTED: queue full");
      },
    });
    expect(result.errors).toBeGreaterThan(0);
    expect(Math.abs(result.errors - result.calls)).toBeLessThanOrEqual(1);
    expect(result.firstError).toBe("RESOURCE_EXHAUSTED: queue full");
  });

  it("calls the window hooks once each, start before end", async () => {
    const events: string[] = [];
    await runClosedLoop({ concurrency: 2, warmupMs: 20, durationMs: 50, call: () => sleep(1), onWindowStart: () => events.push("start"), onWindowEnd: () => events.push("end") });
    expect(events).toEqual(["start", "end"]);
  });
});

describe("percentile", () => {
  it("is the nearest rank", () => {
    const values = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile(new Float64Array(0), 50)).toBeNaN();
  });
});
