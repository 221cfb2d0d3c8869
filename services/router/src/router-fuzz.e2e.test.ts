// Fuzzing the router: every method it serves (the four forwarded APIs, ExperimentService, health; found by
// reflection) gets the same random, truncated, oversized, extreme and mutated request bytes as the platform's
// fuzz test. The router reads user ids off the wire without decoding whole messages, so malformed bytes reach
// its own field reader before any service sees them. Every answer must be a proper status and the router
// must keep routing.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { PageType, SentimentServiceClient, type AnalyzeResponse } from "@funnel/proto";
import { runServices, type RunningServices } from "@funnel/runtime";
import { discoverFuzzTargets, fuzzServer, isProperAnswer } from "@funnel/runtime/testing";
import { sentimentModule } from "@funnel/sentiment";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routerModule } from "./router-module.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const MAX_MESSAGE_BYTES = 256 * 1024;
const quiet = ["--port", "0", "--metrics-port", "-1", "--log-level", "silent", "--max-message-bytes", String(MAX_MESSAGE_BYTES)];

let root: string;
let sentiment: RunningServices;
let router: RunningServices;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "router-fuzz-"));
  sentiment = await runServices([sentimentModule], { env: {}, argv: quiet });
  const file = path.join(root, "experiments.yaml");
  await writeFile(
    file,
    `experiments:\n  - name: sentiment\n    service: funnel.v1.SentimentService\n    salt: s\n    shadow: { share: 0.5, upstream: "127.0.0.1:${sentiment.port}" }\n    variants:\n      - { name: control, weight: 1, upstream: "127.0.0.1:${sentiment.port}" }\n      - { name: treatment, weight: 1, upstream: "127.0.0.1:${sentiment.port}" }\n`,
  );
  router = await runServices([routerModule], { env: { FUNNEL_ROUTER_EXPERIMENTS: file }, argv: quiet });
});

afterAll(async () => {
  await Promise.all([router?.shutdown(), sentiment?.shutdown()]);
  if (root) await rm(root, { recursive: true, force: true });
});

describe("fuzzing the router", () => {
  it("answers random and mutated messages on every method with proper statuses, and keeps routing", async () => {
    const address = `127.0.0.1:${router.port}`;
    const targets = await discoverFuzzTargets(address);
    expect(targets.map((t) => t.path)).toEqual(expect.arrayContaining(["/funnel.v1.ExperimentService/ReportOutcome", "/funnel.v1.RecommendationService/GuideNextStep"]));
    const report = await fuzzServer(address, targets, { seed: SEED, callsPerMethod: 60, maxMessageBytes: MAX_MESSAGE_BYTES, concurrency: 8 }, isProperAnswer);
    const { byMethod: _byMethod, rejected, ...counts } = report;
    console.log(`router fuzz ${JSON.stringify({ ...counts, methods: counts.methods.length, rejected: rejected.length })}`);
    expect(rejected.slice(0, 10)).toEqual([]);

    const client = new SentimentServiceClient(address, grpc.credentials.createInsecure());
    const answer = await new Promise<AnalyzeResponse>((resolve, reject) =>
      client.analyze({ text: "I was charged twice!!", page: PageType.PAGE_TYPE_PAYMENT }, (e, r) => (e ? reject(e) : resolve(r!))),
    );
    client.close();
    expect(answer.result?.score).toBeLessThan(0);
  }, 120_000);
});
