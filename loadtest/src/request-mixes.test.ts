// The mixes are proto JSON written by hand; these tests hold them to the real funnel.v1 messages, so a field the
// API does not have (which fromJSON would silently drop, and k6 would reject at run time) fails here.
import { describe, expect, it } from "vitest";
import { requestCodec } from "./grpc-mix-caller.js";
import { SERVICE_LOAD, scenarioFor, scenarioDurationMs } from "./load-scenarios.js";
import { pickEntry, SERVICE_NAMES, serviceMix, unitHash } from "./request-mixes.js";

/** Proto JSON without default values (toJSON leaves them out, except on optional fields), so both sides compare. */
function withoutDefaults(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map(withoutDefaults);
  if (value && typeof value === "object") {
    const entries = Object.entries(value)
      .map(([key, inner]) => [key, withoutDefaults(inner)] as const)
      .filter(([, inner]) => inner !== undefined);
    return Object.fromEntries(entries);
  }
  if (value === "" || value === 0 || value === false || (typeof value === "string" && value.endsWith("_UNSPECIFIED"))) return undefined;
  return value;
}

describe("request mixes", () => {
  for (const service of SERVICE_NAMES) {
    it(`${service}: every request is a valid ${service} message with every field kept`, () => {
      const mix = serviceMix(service);
      for (const entry of mix.entries) {
        const codec = requestCodec(entry.method) as ReturnType<typeof requestCodec> & { toJSON(message: unknown): unknown };
        for (let i = 0; i < 300; i++) {
          const json = entry.request(i);
          expect(withoutDefaults(codec.toJSON(codec.fromJSON(json))), `${entry.method} #${i}`).toEqual(withoutDefaults(json));
        }
      }
    });
  }

  it("picks methods by weight, interleaved", () => {
    const mix = serviceMix("sentiment");
    const picks = Array.from({ length: 20_000 }, (_, i) => pickEntry(mix, i).method);
    const batchShare = picks.filter((m) => m === "SentimentService/AnalyzeBatch").length / picks.length;
    expect(batchShare).toBeGreaterThan(0.08);
    expect(batchShare).toBeLessThan(0.12);
    expect(picks.slice(0, 100)).toContain("SentimentService/AnalyzeBatch");
  });

  it("asks for popular users more often than the tail, within the configured id space", () => {
    const mix = serviceMix("similarity", { users: 1_000, items: 100, coldStartShare: 0 });
    const ids = Array.from({ length: 5_000 }, (_, i) => String(mix.entries[0]!.request(i).userId));
    expect(ids.every((id) => /^user-\d{6}$/.test(id) && Number(id.slice(5)) >= 1 && Number(id.slice(5)) <= 1_000)).toBe(true);
    const head = ids.filter((id) => Number(id.slice(5)) <= 100).length;
    expect(head / ids.length).toBeGreaterThan(0.3);
  });

  it("sends the configured share as cold-start features", () => {
    const mix = serviceMix("recommendation", { users: 1_000, items: 100, coldStartShare: 0.25 });
    const cold = Array.from({ length: 4_000 }, (_, i) => mix.entries[0]!.request(i)).filter((r) => "features" in r).length;
    expect(cold / 4_000).toBeGreaterThan(0.22);
    expect(cold / 4_000).toBeLessThan(0.28);
  });

  it("unitHash is uniform enough for weights and reproducible", () => {
    const values = Array.from({ length: 10_000 }, (_, i) => unitHash(i, 5));
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(values.reduce((a, b) => a + b, 0) / values.length).toBeCloseTo(0.5, 1);
    expect(unitHash(42, 5)).toBe(values[42]);
  });
});

describe("scenarios", () => {
  it("ramping climbs from a tenth of the rate to twice it and back to zero over the given duration", () => {
    const scenario = scenarioFor("ramping", "sentiment", { durationMs: 60_000 });
    expect(scenario.kind).toBe("ramping-arrival-rate");
    if (scenario.kind !== "ramping-arrival-rate") return;
    const rate = SERVICE_LOAD.sentiment.ratePerSec;
    expect(scenario.startRatePerSec).toBe(rate / 10);
    expect(Math.max(...scenario.stages.map((s) => s.target))).toBe(2 * rate);
    expect(scenario.stages.at(-1)!.target).toBe(0);
    expect(scenarioDurationMs(scenario)).toBe(60_000);
  });
});
