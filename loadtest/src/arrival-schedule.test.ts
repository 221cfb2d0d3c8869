import { describe, expect, it } from "vitest";
import { ArrivalSchedule } from "./arrival-schedule.js";

describe("ArrivalSchedule", () => {
  it("a constant rate spaces calls evenly and holds rate × duration calls", () => {
    const schedule = ArrivalSchedule.constant(200, 1_000);
    expect(schedule.total).toBe(200);
    expect(schedule.durationMs).toBe(1_000);
    expect(schedule.dueAtMs(0)).toBe(0);
    expect(schedule.dueAtMs(1)).toBeCloseTo(5, 9);
    expect(schedule.dueAtMs(199)).toBeCloseTo(995, 9);
  });

  it("a rising ramp follows the integral of the rate (0 → 100/s over 1 s: call k at sqrt(k / 50) s)", () => {
    const schedule = new ArrivalSchedule(0, [{ durationMs: 1_000, target: 100 }]);
    expect(schedule.total).toBe(50);
    for (const k of [1, 8, 32, 49]) expect(schedule.dueAtMs(k)).toBeCloseTo(Math.sqrt(k / 50) * 1000, 6);
  });

  it("a falling ramp front-loads its calls and stays inside the stage", () => {
    const schedule = new ArrivalSchedule(100, [{ durationMs: 1_000, target: 0 }]);
    expect(schedule.total).toBe(50);
    // N(t) = 100 t − 50 t² (t in s): half the calls arrive in the first 29% of the stage.
    expect(schedule.dueAtMs(25)).toBeCloseTo((1 - Math.sqrt(0.5)) * 1000, 6);
    const times = Array.from({ length: 50 }, (_, k) => schedule.dueAtMs(k));
    expect(times.every((t, k) => k === 0 || t > times[k - 1]!)).toBe(true);
    expect(times[49]).toBeLessThanOrEqual(1_000);
  });

  it("chains stages: each starts where the last ended, a zero-rate stage holds no calls", () => {
    const schedule = new ArrivalSchedule(10, [
      { durationMs: 1_000, target: 10 },
      { durationMs: 1_000, target: 0 },
      { durationMs: 1_000, target: 0 },
      { durationMs: 500, target: 20 },
    ]);
    expect(schedule.durationMs).toBe(3_500);
    expect(schedule.total).toBe(10 + 5 + 0 + 5);
    expect(schedule.dueAtMs(10)).toBeCloseTo(1_000, 6);
    expect(schedule.dueAtMs(15)).toBeGreaterThanOrEqual(3_000);
  });

  it("rejects a stage that cannot be run", () => {
    expect(() => new ArrivalSchedule(1, [{ durationMs: 0, target: 5 }])).toThrow(/durationMs > 0/);
    expect(() => new ArrivalSchedule(1, [{ durationMs: 10, target: -1 }])).toThrow(/target >= 0/);
  });
});
