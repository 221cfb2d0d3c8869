// Load scenarios and pass/fail bounds per service, declared once for the k6 scripts and the Node generator.
// No imports: k6 loads this file as it is.
import type { ServiceName } from "./request-mixes.js";

/** Rate reached (linearly) by the end of a stage, as in k6's ramping-arrival-rate. */
export interface RateStage {
  readonly durationMs: number;
  readonly target: number;
}

/** Open model: calls arrive on a schedule whatever the latency (k6 constant- / ramping-arrival-rate). */
export interface ConstantArrival {
  readonly kind: "constant-arrival-rate";
  readonly ratePerSec: number;
  readonly durationMs: number;
}

export interface RampingArrival {
  readonly kind: "ramping-arrival-rate";
  readonly startRatePerSec: number;
  readonly stages: readonly RateStage[];
}

/** Closed model: a fixed number of callers, each sending its next call when the last one answered. */
export interface ClosedConcurrency {
  readonly kind: "constant-vus";
  readonly concurrency: number;
  readonly durationMs: number;
}

export type Scenario = ConstantArrival | RampingArrival | ClosedConcurrency;
export type ScenarioName = "constant" | "ramping" | "closed";
export const SCENARIO_NAMES: readonly ScenarioName[] = ["constant", "ramping", "closed"];

/** Bounds a run must stay within; the k6 thresholds and the generator's `pass` field use the same numbers. */
export interface Thresholds {
  readonly p95Ms: number;
  readonly p99Ms: number;
  /** Largest share of calls that may end in a non-OK status. */
  readonly maxErrorRate: number;
}

interface ServiceLoad {
  /** Steady rate the service is sized for per pod (the HPA target is set below it). */
  readonly ratePerSec: number;
  readonly thresholds: Thresholds;
}

export const SERVICE_LOAD: Readonly<Record<ServiceName, ServiceLoad>> = {
  sentiment: { ratePerSec: 200, thresholds: { p95Ms: 25, p99Ms: 100, maxErrorRate: 0.01 } },
  embedding: { ratePerSec: 100, thresholds: { p95Ms: 50, p99Ms: 150, maxErrorRate: 0.01 } },
  similarity: { ratePerSec: 100, thresholds: { p95Ms: 50, p99Ms: 150, maxErrorRate: 0.01 } },
  recommendation: { ratePerSec: 50, thresholds: { p95Ms: 100, p99Ms: 250, maxErrorRate: 0.01 } },
};

/**
 * The named scenario for a service. `ratePerSec` / `durationMs` scale it: "ramping" warms up at a tenth of
 * the rate, climbs to the rate, holds, peaks at twice the rate (where the HPA should add pods), then drains.
 */
export function scenarioFor(name: ScenarioName, service: ServiceName, overrides: { ratePerSec?: number; durationMs?: number; concurrency?: number } = {}): Scenario {
  const rate = overrides.ratePerSec ?? SERVICE_LOAD[service].ratePerSec;
  const duration = overrides.durationMs ?? 60_000;
  switch (name) {
    case "constant":
      return { kind: "constant-arrival-rate", ratePerSec: rate, durationMs: duration };
    case "closed":
      return { kind: "constant-vus", concurrency: overrides.concurrency ?? 16, durationMs: duration };
    case "ramping": {
      const step = Math.max(1, Math.round(duration / 6));
      return {
        kind: "ramping-arrival-rate",
        startRatePerSec: Math.max(1, Math.round(rate / 10)),
        stages: [
          { durationMs: step, target: rate },
          { durationMs: 2 * step, target: rate },
          { durationMs: step, target: 2 * rate },
          { durationMs: step, target: 2 * rate },
          { durationMs: step, target: 0 },
        ],
      };
    }
  }
}

/** Total length of a scenario in milliseconds. */
export function scenarioDurationMs(scenario: Scenario): number {
  return scenario.kind === "ramping-arrival-rate" ? scenario.stages.reduce((sum, stage) => sum + stage.durationMs, 0) : scenario.durationMs;
}
