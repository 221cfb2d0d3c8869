// The router in front of a real Sentiment service: answers pass through byte for byte (unary and client
// stream), APIs with no experiment answer UNAVAILABLE, an invalid file at start-up stops the router.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import {
  EmbeddingServiceClient,
  PageType,
  SentimentServiceClient,
  type AggregateFeedbackResponse,
  type AnalyzeRequest,
  type AnalyzeResponse,
  type FeedbackRecord,
} from "@funnel/proto";
import { ConfigError, runServices, type RunningServices } from "@funnel/runtime";
import { checkHealth, listServicesByReflection } from "@funnel/runtime/testing";
import { sentimentModule } from "@funnel/sentiment";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routerModule } from "./router-module.js";

let root: string;
let sentiment: RunningServices;
let router: RunningServices;
let direct: SentimentServiceClient;
let routed: SentimentServiceClient;

const quiet = ["--port", "0", "--metrics-port", "-1", "--log-level", "silent"];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "router-sentiment-"));
  sentiment = await runServices([sentimentModule], { env: {}, argv: quiet });
  const file = path.join(root, "experiments.yaml");
  await writeFile(file, `experiments:\n  - name: sentiment\n    service: funnel.v1.SentimentService\n    salt: s\n    variants:\n      - { name: control, weight: 1, upstream: "127.0.0.1:${sentiment.port}" }\n`);
  router = await runServices([routerModule], { env: { FUNNEL_ROUTER_EXPERIMENTS: file }, argv: quiet });
  direct = new SentimentServiceClient(`127.0.0.1:${sentiment.port}`, grpc.credentials.createInsecure());
  routed = new SentimentServiceClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  direct?.close();
  routed?.close();
  await Promise.all([router?.shutdown(), sentiment?.shutdown()]);
  await rm(root, { recursive: true, force: true });
});

const analyze = (client: SentimentServiceClient, request: AnalyzeRequest) =>
  new Promise<AnalyzeResponse>((resolve, reject) => client.analyze(request, (error, response) => (error ? reject(error) : resolve(response!))));

const aggregate = (client: SentimentServiceClient, records: FeedbackRecord[]) =>
  new Promise<AggregateFeedbackResponse>((resolve, reject) => {
    const stream = client.aggregateFeedback((error, response) => (error ? reject(error) : resolve(response!)));
    for (const record of records) stream.write({ record });
    stream.end();
  });

describe("router in front of the Sentiment service", () => {
  it("answers exactly what the service answers, errors included", async () => {
    const request = { text: "I was charged twice!!", page: PageType.PAGE_TYPE_PAYMENT };
    expect(await analyze(routed, request)).toEqual(await analyze(direct, request));
    await expect(analyze(routed, { text: "", page: PageType.PAGE_TYPE_HOME })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("text") });
  });

  it("forwards a client stream in order", async () => {
    const records: FeedbackRecord[] = Array.from({ length: 300 }, (_, i) => ({
      userId: `user-${i % 7}`,
      page: PageType.PAGE_TYPE_SEARCH,
      device: 1,
      timestamp: new Date(Date.UTC(2026, 10, 26, i % 24)),
      text: i % 3 === 0 ? "love it" : "so slow and broken",
    }));
    const answer = await aggregate(routed, records);
    expect(answer).toEqual(await aggregate(direct, records));
    expect(answer.overall?.count).toBe(300);
  });

  it("lists every forwarded API by reflection; one with no experiment is NOT_SERVING and answers UNAVAILABLE", async () => {
    const address = `127.0.0.1:${router.port}`;
    expect(await listServicesByReflection(address)).toEqual(expect.arrayContaining(["funnel.v1.EmbeddingService", "funnel.v1.ExperimentService", "funnel.v1.SentimentService"]));
    expect(await checkHealth(address, "funnel.v1.EmbeddingService")).toBe("NOT_SERVING");
    const embedding = new EmbeddingServiceClient(address, grpc.credentials.createInsecure());
    const failure = await new Promise<grpc.ServiceError>((resolve) => embedding.embedItems({ items: [] }, (error) => resolve(error!)));
    embedding.close();
    expect(failure.code).toBe(grpc.status.UNAVAILABLE);
  });

  it("refuses to start on an invalid experiment file, naming the setting and the problem", async () => {
    const bad = path.join(root, "bad.yaml");
    await writeFile(bad, "experiments: []\n");
    const started = runServices([routerModule], { env: {}, argv: [...quiet, "--router-experiments", bad] });
    await expect(started).rejects.toThrow(ConfigError);
    await expect(started).rejects.toThrow(/--router-experiments \(env FUNNEL_ROUTER_EXPERIMENTS\): .*bad.yaml: experiments: /);
  });
});
