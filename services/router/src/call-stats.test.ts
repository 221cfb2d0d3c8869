import { describe, expect, it } from "vitest";
import { CallStats, guardrailBreach } from "./call-stats.js";

const bounds = { maxErrorRate: 0.1, maxP99Ms: 100, minCalls: 50 };

describe("CallStats and guardrailBreach", () => {
  it("counts errors by code and keeps percentiles", () => {
    const stats = new CallStats();
    for (let i = 1; i <= 100; i++) stats.record(i % 10 === 0 ? "UNAVAILABLE" : "OK", i);
    expect(stats.calls).toBe(100);
    expect(stats.errorsByCode.get("UNAVAILABLE")).toBe(10);
    expect(stats.latency().p50Ms).toBeCloseTo(50, 0);
    expect(stats.latency().p99Ms).toBeCloseTo(99, 0);
  });

  it("looks only at the window, and only once it has minCalls", () => {
    const stats = new CallStats();
    const now = 1_000_000;
    for (let i = 0; i < 100; i++) stats.record("UNAVAILABLE", 1, now - 120_000); // old failures, outside the window
    for (let i = 0; i < 40; i++) stats.record(i < 20 ? "INTERNAL" : "OK", 5, now);
    expect(stats.window(60_000, now)).toEqual({ calls: 40, errors: 20, p99Ms: 5 });
    expect(guardrailBreach(stats.window(60_000, now), bounds)).toBeUndefined(); // 40 < minCalls
    for (let i = 0; i < 20; i++) stats.record("OK", 5, now);
    expect(guardrailBreach(stats.window(60_000, now), bounds)).toBe("error rate 0.333 > 0.1 over 60 calls");
  });

  it("breaches on p99 latency", () => {
    expect(guardrailBreach({ calls: 100, errors: 0, p99Ms: 250 }, bounds)).toBe("p99 250.0 ms > 100 ms over 100 calls");
    expect(guardrailBreach({ calls: 100, errors: 10, p99Ms: 100 }, bounds)).toBeUndefined();
  });
});
