import type { Thresholds } from "./load-scenarios.js";
import type { CallCounts } from "./load-stats.js";

export interface ThresholdVerdict {
  pass: boolean;
  /** One line per crossed bound, e.g. "p99 142.1 ms > 100 ms". */
  failures: string[];
}

/** The same pass/fail rule as the k6 scripts' thresholds: p95, p99 and error rate against their bounds. */
export function checkThresholds(counts: CallCounts, thresholds: Thresholds): ThresholdVerdict {
  const failures: string[] = [];
  const { p95Ms, p99Ms } = counts.latencyMs;
  if (p95Ms > thresholds.p95Ms) failures.push(`p95 ${p95Ms} ms > ${thresholds.p95Ms} ms`);
  if (p99Ms > thresholds.p99Ms) failures.push(`p99 ${p99Ms} ms > ${thresholds.p99Ms} ms`);
  if (counts.errorRate > thresholds.maxErrorRate) {
    failures.push(`error rate ${(counts.errorRate * 100).toFixed(2)}% > ${(thresholds.maxErrorRate * 100).toFixed(2)}%`);
  }
  if (counts.requests === 0) failures.push("no call finished");
  return { pass: failures.length === 0, failures };
}
