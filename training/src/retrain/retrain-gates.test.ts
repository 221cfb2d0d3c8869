import { aggregateItemFeatures, aggregateUserFeatures, buildFeatureSpec, type FeatureSpec } from "@funnel/two-tower";
import { describe, expect, it } from "vitest";
import { generateDataset } from "../data/index.js";
import type { RetrievalMetrics } from "../evaluation/index.js";
import { type CandidateMeasures, decideGates, featureSpecDifferences } from "./retrain-gates.js";

function spec(attributes?: Map<string, Record<string, string>>): FeatureSpec {
  const data = generateDataset({ users: 40, seed: 2, items: 40 });
  const users = aggregateUserFeatures(data.events, { sequenceLength: 5, ...(attributes ? { attributes } : {}) });
  return buildFeatureSpec({ users: [...users.values()], items: [...aggregateItemFeatures(data.events, data.items).values()] }, { sequenceLength: 5 });
}

const metrics = (recall: number): RetrievalMetrics => ({ "recall@5": recall / 2, "recall@10": recall, "recall@20": recall * 1.5, "map@10": recall / 3, "ndcg@10": recall * 0.8, users: 100 });
const good: CandidateMeasures = {
  candidateMetrics: metrics(0.3),
  productionMetrics: metrics(0.3),
  parity: { maxAbsDiff: 1e-7, values: 1000 },
  compatibility: { candidateDim: 128, productionDim: 128, specDifferences: [] },
  servingCost: { modelBytes: 1_000_000, candidate: sample(0.3, 1.2), production: sample(0.3, 1.0), warmupRounds: 30 },
};
function sample(p50Ms: number, p99Ms: number) {
  return { p50Ms, p99Ms, cpuMsPerCall: p50Ms * 0.9, calls: 300 };
}
const withLatency = (candidate: ReturnType<typeof sample>, production: ReturnType<typeof sample> | { error: string } | null): CandidateMeasures => ({
  ...good,
  servingCost: { modelBytes: 1_000_000, candidate, production, warmupRounds: 30 },
});
const latencyGates = (m: CandidateMeasures) => decideGates(m).filter((g) => g.gate === "p99 latency" || g.gate === "latency vs production");

describe("featureSpecDifferences", () => {
  it("ignores fresh vocabularies and statistics but names a new user attribute and a new device", () => {
    const base = spec();
    expect(featureSpecDifferences(base, base)).toEqual([]);
    const withCountry = spec(new Map([["user-000001", { country: "FR" }]]));
    expect(featureSpecDifferences(withCountry, base)).toEqual(["user attributes [country] ≠ []"]);
    const longer = { ...base, vocab: { ...base.vocab, device: { tokens: [...base.vocab.device.tokens, "watch"], size: base.vocab.device.size + 1 } } };
    expect(featureSpecDifferences(longer, base)[0]).toMatch(/^device vocabulary \[.*,watch\] ≠ /);
  });
});

describe("decideGates", () => {
  it("passes a candidate within every bound, with each figure", () => {
    const gates = decideGates(good);
    expect(gates.map((g) => [g.gate, g.status, g.value])).toEqual([
      ["metric recall@10", "pass", 0.3],
      ["metric ndcg@10", "pass", 0.3 * 0.8],
      ["onnx parity", "pass", 1e-7],
      ["compatibility", "pass", 128],
      ["model size", "pass", 1_000_000],
      ["p99 latency", "pass", 1.2],
      ["latency vs production", "pass", 1.2],
    ]);
  });

  it("fails a metric just past the tolerance and passes it just inside", () => {
    const fail = decideGates({ ...good, candidateMetrics: metrics(0.3 * 0.949) }).find((g) => g.gate === "metric recall@10")!;
    expect(fail.status).toBe("fail");
    expect(fail.threshold).toBe("≥ 0.2850 (production 0.3000 − 5.0 %)");
    expect(decideGates({ ...good, candidateMetrics: metrics(0.3 * 0.951) }).find((g) => g.gate === "metric recall@10")!.status).toBe("pass");
  });

  it("skips the comparing gates with no production version, and fails every gate whose measurement threw", () => {
    const noProduction = decideGates({ ...good, productionMetrics: null, compatibility: null });
    expect(noProduction.filter((g) => g.status === "skipped").map((g) => g.gate)).toEqual(["metric recall@10", "metric ndcg@10", "compatibility"]);
    const broken = decideGates({ ...good, parity: { error: "protobuf parsing failed" }, servingCost: { error: "protobuf parsing failed" } });
    expect(broken.filter((g) => g.status === "fail").map((g) => g.gate)).toEqual(["onnx parity", "model size", "p99 latency", "latency vs production"]);
  });

  it("fails parity on an infinite difference (what a NaN from the towers is counted as)", () => {
    expect(decideGates({ ...good, parity: { maxAbsDiff: Number.POSITIVE_INFINITY, values: 10 } }).find((g) => g.gate === "onnx parity")!.status).toBe("fail");
  });

  it("holds the candidate to production's p99 and p50 as ratios, with the absolute budget as a second guard", () => {
    // Just inside 1.5× at p99 and 1.25× at p50: pass; both versions' figures and the CPU ratio are in the detail.
    const inside = latencyGates(withLatency(sample(0.37, 1.49), sample(0.3, 1.0)));
    expect(inside.map((g) => g.status)).toEqual(["pass", "pass"]);
    expect(inside[1]!.detail).toMatch(/^p99 ×1\.49, p50 ×1\.23, CPU\/call ×1\.23 \(candidate p99 1\.490 ms/);
    expect(inside[1]!.threshold).toBe("p99 ≤ production × 1.5, p50 ≤ production × 1.25 (timed interleaved in one process)");
    expect(inside[0]!.detail).toMatch(/production in the same run: p99 1\.000 ms/);
    // p99 past its ratio while far under the absolute budget: refused by the ratio alone.
    expect(latencyGates(withLatency(sample(0.3, 1.51), sample(0.3, 1.0))).map((g) => g.status)).toEqual(["pass", "fail"]);
    // p50 past its ratio with p99 within it: refused too (a slower typical call, not a tail).
    expect(latencyGates(withLatency(sample(0.38, 1.0), sample(0.3, 1.0))).map((g) => g.status)).toEqual(["pass", "fail"]);
    // Both slow past the absolute budget: the ratio passes, the absolute guard refuses.
    expect(latencyGates(withLatency(sample(20, 30), sample(20, 30))).map((g) => g.status)).toEqual(["fail", "pass"]);
  });

  it("applies only the absolute budget with no production version, and fails the ratio when production cannot be timed", () => {
    const first = latencyGates(withLatency(sample(0.3, 1.2), null));
    expect(first.map((g) => g.status)).toEqual(["pass", "skipped"]);
    expect(first[1]!.detail).toBe("skipped: no production version; only the absolute p99 budget applies");
    const broken = latencyGates(withLatency(sample(0.3, 1.2), { error: "protobuf parsing failed" }));
    expect(broken.map((g) => g.status)).toEqual(["pass", "fail"]);
    expect(broken[1]!.detail).toBe("production could not be loaded in the runtime: protobuf parsing failed");
  });
});
