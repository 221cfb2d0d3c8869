// The rollout against a real router process (port 0) in front of real Sentiment services: a healthy
// candidate is stepped to 100 %, a candidate that cannot answer is rolled back and the file restored.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { ExperimentServiceClient, type ExperimentSummary, PageType, SentimentServiceClient } from "@funnel/proto";
import { runServices, type RunningServices } from "@funnel/runtime";
import { sentimentModule } from "@funnel/sentiment";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routerModule } from "../router-module.js";
import { fileTarget } from "./experiments-target.js";
import { runRollout } from "./run-rollout.js";

const quiet = ["--port", "0", "--metrics-port", "-1", "--log-level", "silent"];

let root: string;
let control: RunningServices;
let candidate: RunningServices;
let deadPort: number;

/** A port nothing listens on: calls to it fail UNAVAILABLE, like a candidate whose pods never came up. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const experiments = (candidatePort: number) => `# sentiment A/B for the rollout test
experiments:
  - name: sentiment
    service: funnel.v1.SentimentService
    salt: rollout-test
    variants:
      - name: control
        weight: 100
        upstream: "127.0.0.1:${control.port}"
      - name: candidate
        weight: 0
        upstream: "127.0.0.1:${candidatePort}"
guardrails:
  maxErrorRate: 0.05
  maxP99Ms: 2000
  windowSeconds: 5
  minCalls: 10
upstreamDefaults:
  retries: 0
`;

/** Calls through the router from many users until stopped: the traffic each step is judged on. */
function traffic(address: string): { stop: () => Promise<number> } {
  const client = new SentimentServiceClient(address, grpc.credentials.createInsecure());
  let running = true;
  let calls = 0;
  const worker = async (w: number) => {
    for (let i = 0; running; i++) {
      const metadata = new grpc.Metadata();
      metadata.set("x-user-id", `user-${w}-${i}`);
      await new Promise<void>((resolve) => client.analyze({ text: "love it", page: PageType.PAGE_TYPE_HOME }, metadata, () => resolve()));
      calls++;
    }
  };
  const workers = [0, 1, 2, 3].map(worker);
  let stopped: Promise<number> | undefined;
  return {
    stop: () => {
      running = false;
      stopped ??= Promise.all(workers).then(() => {
        client.close();
        return calls;
      });
      return stopped;
    },
  };
}

async function rolloutThroughRouter(candidatePort: number) {
  const file = path.join(root, `experiments-${candidatePort}.yaml`);
  const original = experiments(candidatePort);
  await writeFile(file, original);
  const router = await runServices([routerModule], { env: { FUNNEL_ROUTER_EXPERIMENTS: file }, argv: [...quiet, "--router-reload-debounce-ms", "20"] });
  const address = `127.0.0.1:${router.port}`;
  const summaries = new ExperimentServiceClient(address, grpc.credentials.createInsecure());
  const load = traffic(address);
  try {
    const result = await runRollout({
      target: fileTarget(file),
      summaries: () =>
        new Promise<ExperimentSummary[]>((resolve, reject) => summaries.getExperimentSummary({ experiment: "" }, (e, r) => (e ? reject(e) : resolve(r!.experiments)))),
      policy: { candidate: "candidate", guardrails: { maxErrorRate: 0.05, maxP99Ms: 2000 }, minCalls: 10, alpha: 0.05 },
      steps: [5, 25, 50, 100],
      holdMs: 300,
      maxHoldMs: 15_000,
      pollMs: 50,
      log: () => {},
    });
    return { result, original, final: await readFile(file, "utf8"), calls: await load.stop() };
  } finally {
    await load.stop();
    summaries.close();
    await router.shutdown();
  }
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "rollout-"));
  [control, candidate] = await Promise.all([runServices([sentimentModule], { env: {}, argv: quiet }), runServices([sentimentModule], { env: {}, argv: quiet })]);
  deadPort = await closedPort();
});

afterAll(async () => {
  await Promise.all([control?.shutdown(), candidate?.shutdown()]);
  await rm(root, { recursive: true, force: true });
});

describe("runRollout against a real router", () => {
  it("steps a healthy candidate through 5, 25, 50 and 100 %, judging each step on its own calls", async () => {
    const { result, final, calls } = await rolloutThroughRouter(candidate.port);
    expect(result.outcome).toBe("completed");
    expect(result.steps.map((s) => [s.percent, s.verdict])).toEqual([[5, "continue"], [25, "continue"], [50, "continue"], [100, "continue"]]);
    for (const step of result.steps) expect(step.reasons[0]).toMatch(/^sentiment\/candidate: \d+ calls, error rate 0\.0000/);
    expect(result.finalShares).toEqual({ sentiment: 100 });
    expect(final).toMatch(/name: control\n\s+weight: 0\n/);
    expect(final).toContain("# sentiment A/B for the rollout test");
    expect(calls).toBeGreaterThan(40);
  }, 60_000);

  it("rolls back a candidate that cannot answer at its first step and restores the file byte for byte", async () => {
    const { result, original, final } = await rolloutThroughRouter(deadPort);
    expect(result.outcome).toBe("rolled-back");
    expect(result.steps).toHaveLength(1);
    expect(result.steps[0]!.percent).toBe(5);
    expect(result.steps[0]!.reasons[0]).toMatch(/^sentiment\/candidate: (error rate 1\.000 > 0\.05|the router took it out of rotation)/);
    expect(final).toBe(original);
  }, 60_000);
});
