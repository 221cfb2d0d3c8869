import type { FeatureSpec } from "@funnel/two-tower";
import type { RetrievalMetrics } from "../evaluation/index.js";
import type { LatencySample, ServingCost } from "./measure-serving-cost.js";

export type GateStatus = "pass" | "fail" | "skipped";

/** One quality gate's verdict with the figure it was decided on, so the report shows why. */
export interface GateResult {
  gate: string;
  status: GateStatus;
  /** The measured figure (null when it could not be measured or the gate was skipped). */
  value: number | null;
  /** The bound it was held to, in words ("≥ 0.2850 (production 0.3000 − 5 %)"). */
  threshold: string;
  detail: string;
}

/** Bounds a candidate must keep; every one has a flag on `npm run retrain`. */
export interface GateThresholds {
  /** Largest relative drop below production allowed on each gated metric (0.05: 5 %). */
  metricTolerance: number;
  /** Metrics compared with production on the fresh holdout. */
  metrics: readonly (keyof RetrievalMetrics)[];
  /** Largest |ONNX − tfjs| over every embedding value. */
  parityTolerance: number;
  /** Largest size of the two ONNX towers together, in bytes. */
  maxModelBytes: number;
  /**
   * Absolute guard on the candidate's p99 of one single-user embedding call in the runtime, in ms: generous,
   * because the figure moves with the load of a shared machine; with production, the ratio below is the gate.
   */
  maxP99Ms: number;
  /** Largest candidate / production ratio of p50, both timed interleaved in one process (the steady figure). */
  maxP50Ratio: number;
  /**
   * Largest candidate / production ratio of p99, timed the same way. Looser than the p50 bound: two equal
   * versions measured p99 ratios of 0.86-1.30 over 16 runs on the shared machine, p50 ratios of 0.99-1.01.
   */
  maxP99Ratio: number;
}

export const DEFAULT_GATE_THRESHOLDS: GateThresholds = {
  metricTolerance: 0.05,
  metrics: ["recall@10", "ndcg@10"],
  parityTolerance: 1e-4,
  maxModelBytes: 64 * 1024 * 1024,
  maxP99Ms: 25,
  maxP50Ratio: 1.25,
  maxP99Ratio: 1.5,
};

/** What was measured of the candidate (and production); a measurement that threw carries its error instead. */
export interface CandidateMeasures {
  candidateMetrics: RetrievalMetrics | { error: string };
  /** null: no production version. */
  productionMetrics: RetrievalMetrics | { error: string } | null;
  parity: { maxAbsDiff: number; values: number } | { error: string };
  compatibility: { candidateDim: number; productionDim: number; specDifferences: string[] } | { error: string } | null;
  servingCost: ServingCost | { error: string };
  /** `--breaking-change "reason"`: an incompatible dimension or feature spec is declared, not an accident. */
  breakingChange?: string | undefined;
}

const NO_PRODUCTION = "skipped: no production version";

/** The pass/fail decision of every gate from measured figures: pure, so each rule is tested on its own. */
export function decideGates(m: CandidateMeasures, t: GateThresholds = DEFAULT_GATE_THRESHOLDS): GateResult[] {
  return [...metricGates(m, t), parityGate(m, t), compatibilityGate(m), sizeGate(m, t), latencyGate(m, t), latencyRatioGate(m, t)];
}

function failed<T extends object>(x: T | { error: string } | null): x is { error: string } {
  return x !== null && "error" in x;
}

function metricGates(m: CandidateMeasures, t: GateThresholds): GateResult[] {
  return t.metrics.map((metric): GateResult => {
    const gate = `metric ${metric}`;
    const threshold = `≥ production × ${(1 - t.metricTolerance).toFixed(3)} (tolerance ${(t.metricTolerance * 100).toFixed(1)} %)`;
    if (failed(m.candidateMetrics)) return { gate, status: "fail", value: null, threshold, detail: `candidate could not be evaluated: ${m.candidateMetrics.error}` };
    const value = m.candidateMetrics[metric];
    if (m.productionMetrics === null) return { gate, status: "skipped", value, threshold, detail: NO_PRODUCTION };
    if (failed(m.productionMetrics)) return { gate, status: "fail", value, threshold, detail: `production could not be evaluated on the holdout: ${m.productionMetrics.error}` };
    const production = m.productionMetrics[metric];
    const bound = production * (1 - t.metricTolerance);
    const change = production > 0 ? ((value - production) / production) * 100 : 0;
    return {
      gate,
      status: value >= bound ? "pass" : "fail",
      value,
      threshold: `≥ ${bound.toFixed(4)} (production ${production.toFixed(4)} − ${(t.metricTolerance * 100).toFixed(1)} %)`,
      detail: `candidate ${value.toFixed(4)} vs production ${production.toFixed(4)} (${change >= 0 ? "+" : ""}${change.toFixed(1)} %)`,
    };
  });
}

function parityGate(m: CandidateMeasures, t: GateThresholds): GateResult {
  const gate = "onnx parity";
  const threshold = `max |onnx − tfjs| ≤ ${t.parityTolerance.toExponential(0)}`;
  if (failed(m.parity)) return { gate, status: "fail", value: null, threshold, detail: `ONNX towers could not be run: ${m.parity.error}` };
  const ok = m.parity.maxAbsDiff <= t.parityTolerance;
  return {
    gate,
    status: ok ? "pass" : "fail",
    value: m.parity.maxAbsDiff,
    threshold,
    detail: `${m.parity.values} embedding values of the stored tfjs outputs recomputed by onnxruntime; max |diff| ${m.parity.maxAbsDiff.toExponential(2)}`,
  };
}

function compatibilityGate(m: CandidateMeasures): GateResult {
  const gate = "compatibility";
  const threshold = "same embedding dimension and feature contract as production, or --breaking-change";
  if (m.compatibility === null) return { gate, status: "skipped", value: null, threshold, detail: NO_PRODUCTION };
  if (failed(m.compatibility)) return { gate, status: "fail", value: null, threshold, detail: `could not compare with production: ${m.compatibility.error}` };
  const { candidateDim, productionDim, specDifferences } = m.compatibility;
  const problems = [...(candidateDim === productionDim ? [] : [`embedding dimension ${candidateDim} ≠ production ${productionDim}`]), ...specDifferences];
  if (problems.length === 0) return { gate, status: "pass", value: candidateDim, threshold, detail: `dimension ${candidateDim}, feature contract unchanged` };
  if (m.breakingChange) {
    return { gate, status: "pass", value: candidateDim, threshold, detail: `declared breaking change (${m.breakingChange}): ${problems.join("; ")}` };
  }
  return { gate, status: "fail", value: candidateDim, threshold, detail: `${problems.join("; ")}; pass --breaking-change "<reason>" if this is intended` };
}

function sizeGate(m: CandidateMeasures, t: GateThresholds): GateResult {
  const gate = "model size";
  const threshold = `≤ ${formatBytes(t.maxModelBytes)} (both ONNX towers)`;
  if (failed(m.servingCost)) return { gate, status: "fail", value: null, threshold, detail: `could not load in the runtime: ${m.servingCost.error}` };
  const bytes = m.servingCost.modelBytes;
  return { gate, status: bytes <= t.maxModelBytes ? "pass" : "fail", value: bytes, threshold, detail: formatBytes(bytes) };
}

function latencyGate(m: CandidateMeasures, t: GateThresholds): GateResult {
  const gate = "p99 latency";
  const threshold = `≤ ${t.maxP99Ms} ms per single-user embedding (absolute guard)`;
  if (failed(m.servingCost)) return { gate, status: "fail", value: null, threshold, detail: `could not load in the runtime: ${m.servingCost.error}` };
  const { candidate, production } = m.servingCost;
  const beside = production === null || failed(production) ? "" : `; production in the same run: ${describeSample(production)}`;
  return {
    gate,
    status: candidate.p99Ms <= t.maxP99Ms ? "pass" : "fail",
    value: candidate.p99Ms,
    threshold,
    detail: `${describeSample(candidate)} over ${candidate.calls} ServedTwoTower.embedUsers calls${beside}`,
  };
}

/** The latency gate that holds on a busy machine: both versions timed interleaved, compared as ratios. */
function latencyRatioGate(m: CandidateMeasures, t: GateThresholds): GateResult {
  const gate = "latency vs production";
  const threshold = `p99 ≤ production × ${t.maxP99Ratio}, p50 ≤ production × ${t.maxP50Ratio} (timed interleaved in one process)`;
  if (failed(m.servingCost)) return { gate, status: "fail", value: null, threshold, detail: `could not load in the runtime: ${m.servingCost.error}` };
  const { candidate, production } = m.servingCost;
  if (production === null) return { gate, status: "skipped", value: null, threshold, detail: `${NO_PRODUCTION}; only the absolute p99 budget applies` };
  if (failed(production)) return { gate, status: "fail", value: null, threshold, detail: `production could not be loaded in the runtime: ${production.error}` };
  const p99 = candidate.p99Ms / production.p99Ms;
  const p50 = candidate.p50Ms / production.p50Ms;
  const cpu = candidate.cpuMsPerCall / production.cpuMsPerCall;
  return {
    gate,
    status: p99 <= t.maxP99Ratio && p50 <= t.maxP50Ratio ? "pass" : "fail",
    value: p99,
    threshold,
    detail: `p99 ×${p99.toFixed(2)}, p50 ×${p50.toFixed(2)}, CPU/call ×${cpu.toFixed(2)} (candidate ${describeSample(candidate)}; production ${describeSample(production)})`,
  };
}

function describeSample(s: LatencySample): string {
  return `p99 ${s.p99Ms.toFixed(3)} ms, p50 ${s.p50Ms.toFixed(3)} ms, CPU ${s.cpuMsPerCall.toFixed(3)} ms/call`;
}

/**
 * Where the candidate's feature contract differs from production's in a way callers or serving would notice.
 * Vocabulary contents and fitted statistics of items change with fresh data by design and are not compared:
 * each version encodes with its own spec.
 */
export function featureSpecDifferences(candidate: FeatureSpec, production: FeatureSpec): string[] {
  const out: string[] = [];
  if (candidate.version !== production.version) out.push(`feature spec version ${candidate.version} ≠ ${production.version}`);
  const inputs = (s: FeatureSpec, tower: "user" | "item") => s.inputs[tower].map((i) => `${i.name}:${i.dtype}`).join(",");
  for (const tower of ["user", "item"] as const) {
    if (inputs(candidate, tower) !== inputs(production, tower)) out.push(`${tower} tower inputs [${inputs(candidate, tower)}] ≠ [${inputs(production, tower)}]`);
    const numeric = (s: FeatureSpec) => s[tower].numeric.map((n) => `${n.name}(${n.transform})`).join(",");
    if (numeric(candidate) !== numeric(production)) out.push(`${tower} numeric features [${numeric(candidate)}] ≠ [${numeric(production)}]`);
  }
  for (const vocab of ["device", "page", "interaction"] as const) {
    const tokens = (s: FeatureSpec) => s.vocab[vocab].tokens.join(",");
    if (tokens(candidate) !== tokens(production)) out.push(`${vocab} vocabulary [${tokens(candidate)}] ≠ [${tokens(production)}]`);
  }
  // A user attribute the candidate reads that production did not means callers must start sending it.
  const attributeNames = (s: FeatureSpec) => [...new Set(s.vocab.userAttribute.tokens.map((t) => t.split("=")[0]!))].sort().join(",");
  if (attributeNames(candidate) !== attributeNames(production)) out.push(`user attributes [${attributeNames(candidate)}] ≠ [${attributeNames(production)}]`);
  return out;
}

export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}
