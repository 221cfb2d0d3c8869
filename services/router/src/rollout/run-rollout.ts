// The gradual rollout after a gated retrain: step the candidate's share of the router's experiments through
// 5 → 25 → 50 → 100 %, hold each step while the router gathers calls, and go on only while the rollout
// decision says so; on a rollback verdict (or too few calls by the end of the hold) put the file back as it was.
import type { ExperimentSummary } from "@funnel/proto";
import { candidateShares, withCandidateWeight } from "./candidate-weights.js";
import type { ExperimentsTarget } from "./experiments-target.js";
import { decideRolloutStep, type RolloutPolicy, type RolloutVerdict } from "./rollout-decision.js";

export const DEFAULT_ROLLOUT_STEPS = [5, 25, 50, 100] as const;

export interface RolloutOptions {
  target: ExperimentsTarget;
  /** The router's summaries of every experiment (ExperimentService/GetExperimentSummary). */
  summaries: () => Promise<ExperimentSummary[]>;
  policy: RolloutPolicy;
  steps: readonly number[];
  /** Least time at each step before it is judged (the router needs calls, and the ConfigMap needs to arrive). */
  holdMs: number;
  /** Longest time at a step still waiting for enough calls before rolling back for lack of evidence. */
  maxHoldMs: number;
  pollMs: number;
  log?: (line: string) => void;
  /** Injected for tests that must not wait in real time; defaults to setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RolloutStepRecord {
  percent: number;
  verdict: RolloutVerdict;
  reasons: string[];
  heldMs: number;
}

export interface RolloutResult {
  outcome: "completed" | "rolled-back";
  candidate: string;
  steps: RolloutStepRecord[];
  /** The candidate's share per experiment when the rollout ended. */
  finalShares: Record<string, number>;
}

export async function runRollout(options: RolloutOptions): Promise<RolloutResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const { target, policy } = options;
  const original = await target.read();
  const steps: RolloutStepRecord[] = [];
  for (const percent of options.steps) {
    await target.write(withCandidateWeight(await target.read(), policy.candidate, percent));
    log(`step ${percent} %: ${policy.candidate} set to ${percent} % in ${target.describe}; holding ${Math.round(options.holdMs / 1000)} s`);
    const started = Date.now();
    let decision = decideRolloutStep(await options.summaries(), policy, percent);
    for (;;) {
      const held = Date.now() - started;
      // A rollback verdict acts at once; continue only after the least hold; wait until the longest hold.
      if (decision.verdict === "rollback") break;
      if (decision.verdict === "continue" && held >= options.holdMs) break;
      if (held >= options.maxHoldMs) {
        decision = { verdict: "rollback", reasons: [`not enough calls after ${Math.round(held / 1000)} s: ${decision.reasons.join("; ")}`] };
        break;
      }
      await sleep(options.pollMs);
      decision = decideRolloutStep(await options.summaries(), policy, percent);
    }
    steps.push({ percent, verdict: decision.verdict, reasons: decision.reasons, heldMs: Date.now() - started });
    for (const reason of decision.reasons) log(`  ${decision.verdict}: ${reason}`);
    if (decision.verdict === "rollback") {
      await target.write(original);
      log(`rolled back: ${target.describe} restored (${policy.candidate} at ${JSON.stringify(candidateShares(original, policy.candidate))} %)`);
      return { outcome: "rolled-back", candidate: policy.candidate, steps, finalShares: candidateShares(original, policy.candidate) };
    }
  }
  const finalText = await target.read();
  log(`rollout complete: ${policy.candidate} serves ${JSON.stringify(candidateShares(finalText, policy.candidate))} %; promote its version in the Deployments (k8s/README.md) and the registry`);
  return { outcome: "completed", candidate: policy.candidate, steps, finalShares: candidateShares(finalText, policy.candidate) };
}
