// Whether a gradual rollout step may go on, from the router's own experiment summary: the same guardrail
// rule the router applies (guardrailBreach), its in-rotation verdict and its two-proportion z-test.
import type { ExperimentSummary } from "@funnel/proto";
import { guardrailBreach } from "../call-stats.js";
import type { Guardrails } from "../experiment-config.js";

export type RolloutVerdict = "continue" | "wait" | "rollback";

export interface RolloutPolicy {
  /** The variant being rolled out. */
  candidate: string;
  /** The router's bounds (the experiment file's `guardrails`): the rollout holds the candidate to the same. */
  guardrails: Pick<Guardrails, "maxErrorRate" | "maxP99Ms">;
  /** Calls the candidate must have served at this step before it is judged. */
  minCalls: number;
  /** A success rate lower than the control's with p below this rolls back. */
  alpha: number;
}

export interface RolloutDecision {
  verdict: RolloutVerdict;
  /** One line per experiment that was not a plain "continue", or the figures that let it continue. */
  reasons: string[];
}

/**
 * The verdict over every experiment that has the candidate (embedding, similarity and recommendation move
 * together): any rollback wins, then any wait; continue only when every one has enough calls and is healthy.
 */
export function decideRolloutStep(summaries: readonly ExperimentSummary[], policy: RolloutPolicy, expectedPercent?: number): RolloutDecision {
  const withCandidate = summaries.filter((s) => s.variants.some((v) => v.name === policy.candidate));
  if (withCandidate.length === 0) return { verdict: "rollback", reasons: [`no experiment has a variant "${policy.candidate}"`] };
  const rollback: string[] = [];
  const wait: string[] = [];
  const fine: string[] = [];
  for (const summary of withCandidate) {
    const at = `${summary.name}/${policy.candidate}`;
    const v = summary.variants.find((x) => x.name === policy.candidate)!;
    if (!v.inRotation) {
      const event = summary.guardrailEvents.filter((e) => e.variant === policy.candidate).at(-1);
      rollback.push(`${at}: the router took it out of rotation${event ? ` (${event.reason})` : ""}`);
      continue;
    }
    // Until the router has loaded this step (a ConfigMap takes up to a minute), its figures are the last step's.
    const total = summary.variants.reduce((n, x) => n + x.weight, 0);
    const share = total > 0 ? (v.weight / total) * 100 : 0;
    if (expectedPercent !== undefined && Math.abs(share - expectedPercent) > 0.5) {
      wait.push(`${at}: the router still routes ${share.toFixed(1)} %, not ${expectedPercent} % (config not reloaded yet)`);
      continue;
    }
    const p99Ms = v.latency?.p99Ms ?? 0;
    const breach = guardrailBreach({ calls: v.calls, errors: v.errors, p99Ms }, { ...policy.guardrails, minCalls: policy.minCalls });
    if (breach) {
      rollback.push(`${at}: ${breach}`);
      continue;
    }
    const comparison = summary.comparisons.find((c) => c.treatment === policy.candidate);
    if (comparison && comparison.difference < 0 && comparison.pValue < policy.alpha) {
      rollback.push(`${at}: success rate ${comparison.difference.toFixed(4)} below ${comparison.control} (z ${comparison.z.toFixed(2)}, p ${comparison.pValue.toFixed(4)} < ${policy.alpha})`);
      continue;
    }
    if (v.calls < policy.minCalls) {
      wait.push(`${at}: ${v.calls} of ${policy.minCalls} calls needed to judge`);
      continue;
    }
    fine.push(`${at}: ${v.calls} calls, error rate ${v.errorRate.toFixed(4)}, p99 ${p99Ms.toFixed(1)} ms`);
  }
  if (rollback.length > 0) return { verdict: "rollback", reasons: rollback };
  if (wait.length > 0) return { verdict: "wait", reasons: wait };
  return { verdict: "continue", reasons: fine };
}
