// The error boundary as a client sees it: a real server on port 0, a real client, statuses and trailers.
import * as grpc from "@grpc/grpc-js";
import { PageType, SentimentResult, SentimentServiceClient, SentimentServiceService, type AnalyzeResponse } from "@funnel/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { MicroBatcher } from "./micro-batcher.js";
import { ServingServer } from "./serving-server.js";

/** Shaped like the feature encoders' error (a package without gRPC): its class declares the status. */
class FeatureEncodingError extends Error {
  readonly grpcStatus = "INVALID_ARGUMENT" as const;
}

let server: ServingServer;
let client: SentimentServiceClient;
// Room for one waiting item and a 100 ms batch delay: a second call within that delay finds the queue full.
const batcher = new MicroBatcher<string, string>({
  maxBatchSize: 10,
  maxDelayMs: 100,
  maxQueue: 1,
  run: async (texts) => texts,
});

beforeAll(async () => {
  server = new ServingServer({ config: { host: "127.0.0.1", port: 0, metricsPort: -1, maxMessageBytes: 65536, shutdownGraceMs: 1000 }, log: createLogger("silent") });
  const fail = async (): Promise<never> => {
    throw new Error("not used");
  };
  const name = server.addService(SentimentServiceService, {
    async analyze(request) {
      if (request.text === "encode") throw new FeatureEncodingError("items[0].sessionCount: must be >= 0, got -1");
      const text = await batcher.submit(request.text);
      return { result: SentimentResult.fromPartial({ ruleSetVersion: text }), model: undefined };
    },
    analyzeBatch: fail,
    aggregateFeedback: fail,
  });
  const { port } = await server.start();
  server.setReady(name, true);
  client = new SentimentServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await server?.shutdown();
});

const analyze = (text: string) =>
  new Promise<AnalyzeResponse>((resolve, reject) => client.analyze({ text, page: PageType.PAGE_TYPE_HOME }, (error, response) => (error ? reject(error) : resolve(response!))));

describe("errors as clients see them", () => {
  it("a full micro-batcher queue is RESOURCE_EXHAUSTED with a retry hint in the message and the grpc-retry-pushback-ms trailer", async () => {
    const first = analyze("a");
    // The second call must arrive before the batch's 100 ms delay runs out; the first waits in the queue.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const error = (await analyze("b").catch((e: unknown) => e)) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(error.details).toBe("server is over capacity: batch queue is full (1 waiting); retry in about 200 ms");
    expect(error.metadata.get("grpc-retry-pushback-ms")).toEqual(["200"]);
    expect((await first).result?.ruleSetVersion).toBe("a");
  });

  it("a feature encoding error is INVALID_ARGUMENT naming the field", async () => {
    await expect(analyze("encode")).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: "items[0].sessionCount: must be >= 0, got -1" });
  });
});
