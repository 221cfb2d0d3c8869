import type { ExperimentSummary, VariantSummary } from "@funnel/proto";
import { describe, expect, it } from "vitest";
import { twoProportionZTest } from "../two-proportion-z-test.js";
import { decideRolloutStep, type RolloutPolicy } from "./rollout-decision.js";

const policy: RolloutPolicy = { candidate: "candidate", guardrails: { maxErrorRate: 0.05, maxP99Ms: 500 }, minCalls: 200, alpha: 0.05 };

function variant(name: string, weight: number, figures: Partial<VariantSummary> & { p99Ms?: number } = {}): VariantSummary {
  const { p99Ms = 20, ...rest } = figures;
  return {
    name,
    weight,
    upstream: `dns:///${name}:50051`,
    inRotation: true,
    modelVersions: [],
    calls: 1000,
    errors: 0,
    errorRate: 0,
    errorsByCode: [],
    latency: { p50Ms: 5, p95Ms: 10, p99Ms, meanMs: 6, maxMs: p99Ms },
    users: 0,
    successes: 0,
    successRate: 0,
    ...rest,
  };
}

function summary(name: string, candidate: VariantSummary, extra: Partial<ExperimentSummary> = {}): ExperimentSummary {
  return { name, service: "funnel.v1.RecommendationService", variants: [variant("control", 100 - candidate.weight), candidate], comparisons: [], guardrailEvents: [], ...extra };
}

describe("decideRolloutStep", () => {
  it("continues when every experiment's candidate has enough calls within the router's bounds", () => {
    const d = decideRolloutStep([summary("a", variant("candidate", 25, { calls: 400, errors: 4, errorRate: 0.01 })), summary("b", variant("candidate", 25))], policy, 25);
    expect(d.verdict).toBe("continue");
    expect(d.reasons[0]).toBe("a/candidate: 400 calls, error rate 0.0100, p99 20.0 ms");
  });

  it("waits for calls, and for the router to load the step", () => {
    expect(decideRolloutStep([summary("a", variant("candidate", 5, { calls: 150 }))], policy, 5)).toEqual({ verdict: "wait", reasons: ["a/candidate: 150 of 200 calls needed to judge"] });
    const stale = decideRolloutStep([summary("a", variant("candidate", 5))], policy, 25);
    expect(stale.verdict).toBe("wait");
    expect(stale.reasons[0]).toMatch(/still routes 5\.0 %, not 25 %/);
  });

  it("rolls back past the router's error-rate or p99 bound (its own guardrailBreach rule)", () => {
    const errors = decideRolloutStep([summary("a", variant("candidate", 5, { calls: 300, errors: 30, errorRate: 0.1 }))], policy, 5);
    expect(errors).toEqual({ verdict: "rollback", reasons: ["a/candidate: error rate 0.100 > 0.05 over 300 calls"] });
    const slow = decideRolloutStep([summary("a", variant("candidate", 5, { calls: 300, p99Ms: 800 }))], policy, 5);
    expect(slow.reasons[0]).toBe("a/candidate: p99 800.0 ms > 500 ms over 300 calls");
    // One bad experiment of three rolls the whole candidate back: the two-tower APIs move together.
    expect(decideRolloutStep([summary("a", variant("candidate", 5)), summary("b", variant("candidate", 5, { calls: 300, errors: 30 }))], policy, 5).verdict).toBe("rollback");
  });

  it("rolls back when the router took the candidate out of rotation, with the router's reason", () => {
    const d = decideRolloutStep(
      [summary("a", variant("candidate", 50, { inRotation: false, calls: 20 }), { guardrailEvents: [{ variant: "candidate", reason: "error rate 0.62 > 0.05 over 200 calls" }] })],
      policy,
      50,
    );
    expect(d).toEqual({ verdict: "rollback", reasons: ["a/candidate: the router took it out of rotation (error rate 0.62 > 0.05 over 200 calls)"] });
  });

  it("rolls back on a significantly lower success rate (the router's two-proportion z-test), not on noise", () => {
    const compare = (successesA: number, usersA: number, successesB: number, usersB: number) => {
      const { z, pValue } = twoProportionZTest(successesA, usersA, successesB, usersB);
      return [{ control: "control", treatment: "candidate", difference: successesB / usersB - successesA / usersA, z, pValue }];
    };
    const worse = decideRolloutStep([summary("a", variant("candidate", 25), { comparisons: compare(300, 1000, 220, 1000) })], policy, 25);
    expect(worse.verdict).toBe("rollback");
    expect(worse.reasons[0]).toMatch(/^a\/candidate: success rate -0\.0800 below control \(z -4\.\d+, p 0\.0000 < 0\.05\)$/);
    expect(decideRolloutStep([summary("a", variant("candidate", 25), { comparisons: compare(300, 1000, 290, 1000) })], policy, 25).verdict).toBe("continue");
    expect(decideRolloutStep([summary("a", variant("candidate", 25), { comparisons: compare(220, 1000, 300, 1000) })], policy, 25).verdict).toBe("continue");
  });

  it("rolls back when no experiment has the candidate", () => {
    expect(decideRolloutStep([summary("a", variant("other", 5))], policy).reasons).toEqual(['no experiment has a variant "candidate"']);
  });
});
