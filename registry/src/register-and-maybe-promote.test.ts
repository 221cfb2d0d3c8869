import { describe, expect, it } from "vitest";
import { decidePromotion } from "./register-and-maybe-promote.js";
import { diffMetrics } from "./diff-metrics.js";
import { parseVersionRef } from "./model-registry.js";

describe("decidePromotion", () => {
  const higher = { metric: "recall", alias: "production" };
  const lower = { metric: "loss", alias: "production", lowerIsBetter: true };
  const v = (version: number, metrics: Record<string, number>) => ({ version, metrics });

  it("promotes onto an unset alias and when strictly better", () => {
    expect(decidePromotion(higher, v(1, { recall: 0.1 }), null).promote).toBe(true);
    expect(decidePromotion(higher, v(2, { recall: 0.3 }), v(1, { recall: 0.2 })).promote).toBe(true);
    expect(decidePromotion(lower, v(2, { loss: 0.1 }), v(1, { loss: 0.2 })).promote).toBe(true);
  });

  it("keeps the current version on a tie, a worse metric, or when the current one lacks the metric", () => {
    expect(decidePromotion(higher, v(2, { recall: 0.2 }), v(1, { recall: 0.2 })).promote).toBe(false);
    expect(decidePromotion(higher, v(2, { recall: 0.1 }), v(1, { recall: 0.2 })).promote).toBe(false);
    expect(decidePromotion(lower, v(2, { loss: 0.3 }), v(1, { loss: 0.2 })).promote).toBe(false);
    const missing = decidePromotion(higher, v(2, { recall: 0.9 }), v(1, { auc: 0.2 }));
    expect(missing).toEqual({ promote: false, reason: expect.stringContaining("has no metric") });
  });

  it("fails clearly when the new version lacks the metric", () => {
    expect(() => decidePromotion(higher, v(2, { auc: 1 }), null)).toThrow(/version 2 has no metric "recall".*auc/);
  });
});

describe("diffMetrics", () => {
  it("lists the union of metrics with deltas, keeping one-sided metrics", () => {
    expect(diffMetrics({ a: 1, b: 0.5 }, { b: 0.75, c: 3 })).toEqual([
      { metric: "a", left: 1, right: undefined, delta: undefined },
      { metric: "b", left: 0.5, right: 0.75, delta: 0.25 },
      { metric: "c", left: undefined, right: 3, delta: undefined },
    ]);
  });
});

describe("parseVersionRef", () => {
  it("reads numbers and v-numbers as versions and other names as aliases", () => {
    expect(parseVersionRef(3)).toEqual({ kind: "version", version: 3 });
    expect(parseVersionRef("12")).toEqual({ kind: "version", version: 12 });
    expect(parseVersionRef("v7")).toEqual({ kind: "version", version: 7 });
    expect(parseVersionRef("production")).toEqual({ kind: "alias", alias: "production" });
  });

  it("rejects version 0, reserved and malformed alias names", () => {
    expect(() => parseVersionRef(0)).toThrow(/positive integer/);
    expect(() => parseVersionRef("latest")).toThrow(/latest/);
    expect(() => parseVersionRef("bad alias")).toThrow(/invalid/);
    expect(() => parseVersionRef("-x")).toThrow(/invalid/);
  });
});
