#!/usr/bin/env node
// `npm run rollout`: the gradual rollout of a candidate through the router's experiment weights. Entry point:
// the only file of the rollout that reads process.argv.
import * as grpc from "@grpc/grpc-js";
import { Command, InvalidArgumentError } from "commander";
import { ExperimentServiceClient, type ExperimentSummary } from "@funnel/proto";
import { parseExperimentConfig } from "../experiment-config.js";
import { type ExperimentsTarget, fileTarget, kubectlTarget } from "./experiments-target.js";
import { DEFAULT_ROLLOUT_STEPS, runRollout } from "./run-rollout.js";

/** 90s, 10m, 1h, or plain milliseconds. */
function duration(name: string) {
  return (value: string): number => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
    if (!match) throw new InvalidArgumentError(`${name} must be a duration such as 90s, 10m or 1h, got "${value}"`);
    return Number(match[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(match[2] ?? "ms") as "ms" | "s" | "m" | "h"];
  };
}

function steps(value: string): number[] {
  const list = value.split(",").map(Number);
  if (list.some((p) => !Number.isInteger(p) || p < 1 || p > 100) || list.some((p, i) => i > 0 && p <= list[i - 1]!)) {
    throw new InvalidArgumentError(`--steps must be increasing whole percentages 1..100 such as 5,25,50,100, got "${value}"`);
  }
  return list;
}

interface Flags {
  router: string;
  experimentsFile?: string;
  namespace?: string;
  context?: string;
  kubectlDryRun?: boolean;
  candidate: string;
  steps: number[];
  hold: number;
  maxHold?: number;
  poll: number;
  minCalls?: number;
  alpha: number;
}

function summariesFrom(address: string): { fetch: () => Promise<ExperimentSummary[]>; close: () => void } {
  const client = new ExperimentServiceClient(address, grpc.credentials.createInsecure());
  return {
    fetch: () =>
      new Promise((resolve, reject) =>
        client.getExperimentSummary({ experiment: "" }, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (error, response) => (error ? reject(error) : resolve(response!.experiments))),
      ),
    close: () => client.close(),
  };
}

const program = new Command("funnel-rollout")
  .description("step a candidate variant's share of the router's experiments (5 → 25 → 50 → 100 %), checking the router's guardrails between steps; roll back on failure")
  .option("--router <address>", "router gRPC address (ExperimentService), e.g. after kubectl port-forward svc/funnel-router 50051", "127.0.0.1:50051")
  .option("--experiments-file <file>", "the experiment file the router reads (--router-experiments)")
  .option("--namespace <ns>", "or: edit the funnel-router-experiments ConfigMap in this namespace with kubectl")
  .option("--context <name>", "kubectl context")
  .option("--kubectl-dry-run", "with --namespace: apply with --dry-run=client (nothing changes; the steps still wait and judge)")
  .option("--candidate <variant>", "the variant being rolled out", "candidate")
  .option("--steps <list>", "candidate percentages, in order", steps, [...DEFAULT_ROLLOUT_STEPS])
  .option("--hold <duration>", "least time at each step before judging it", duration("--hold"), 600_000)
  .option("--max-hold <duration>", "longest wait at a step for enough calls before rolling back (default 3 × --hold)", duration("--max-hold"))
  .option("--poll <duration>", "how often the router's summary is read", duration("--poll"), 15_000)
  .option("--min-calls <n>", "candidate calls needed at a step before it is judged (default: the file's guardrails.minCalls)", (v) => Number.parseInt(v, 10))
  .option("--alpha <p>", "roll back when the candidate's success rate is lower with p below this", Number, 0.05)
  .action(async (flags: Flags) => {
    if (Boolean(flags.experimentsFile) === Boolean(flags.namespace)) throw new InvalidArgumentError("give exactly one of --experiments-file <file> or --namespace <ns>");
    const target: ExperimentsTarget = flags.experimentsFile
      ? fileTarget(flags.experimentsFile)
      : kubectlTarget({ namespace: flags.namespace!, ...(flags.context ? { context: flags.context } : {}), dryRun: flags.kubectlDryRun === true });
    const config = parseExperimentConfig(await target.read(), target.describe);
    const router = summariesFrom(flags.router);
    try {
      const result = await runRollout({
        target,
        summaries: router.fetch,
        policy: { candidate: flags.candidate, guardrails: config.guardrails, minCalls: flags.minCalls ?? config.guardrails.minCalls, alpha: flags.alpha },
        steps: flags.steps,
        holdMs: flags.hold,
        maxHoldMs: flags.maxHold ?? 3 * flags.hold,
        pollMs: flags.poll,
      });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      // 2: the candidate was rolled back (a verdict); 1: the rollout itself failed.
      if (result.outcome === "rolled-back") process.exitCode = 2;
    } finally {
      router.close();
    }
  });

// npm runs workspace scripts inside services/router; relative paths on the command line mean the caller's directory.
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
