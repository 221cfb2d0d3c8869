// The embedded platform as an operator runs it: a real process, real port, SIGTERM to stop.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import {
  DeviceType,
  EmbeddingServiceClient,
  type FindSimilarUsersResponse,
  PageType,
  RecommendationServiceClient,
  type RecommendItemsResponse,
  SentimentLabel,
  SentimentServiceClient,
  SimilarityServiceClient,
  type AnalyzeResponse,
  type EmbedUsersResponse,
} from "@funnel/proto";
import { checkHealth } from "@funnel/runtime/testing";
import { afterAll, afterEach, describe, expect, it } from "vitest";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
let child: ChildProcess | undefined;
// One registry for the whole file: the first start trains the first-run model, later starts reuse it.
const dataDir = mkdtempSync(path.join(os.tmpdir(), "platform-e2e-"));
const embeddedData = ["--registry-dir", path.join(dataDir, "registry"), "--model-cache-dir", path.join(dataDir, "cache"), "--first-run-users", "150", "--first-run-epochs", "1"];

afterEach(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function startPlatform(args: string[]): Promise<{ port: number; logs: string[] }> {
  child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...args, ...embeddedData], { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"] });
  const logs: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`platform did not start:\n${logs.join("\n")}`)), 150_000);
    createInterface({ input: child!.stdout! }).on("line", (line) => {
      logs.push(line);
      const entry = JSON.parse(line) as { msg: string; port?: number };
      if (entry.msg === "gRPC server listening") {
        clearTimeout(timer);
        resolve({ port: entry.port!, logs });
      }
    });
    child!.stderr!.on("data", (chunk: Buffer) => logs.push(chunk.toString()));
    child!.on("exit", (code) => reject(new Error(`platform exited with ${code}:\n${logs.join("\n")}`)));
  });
}

describe("embedded platform process", () => {
  it("on first run trains and registers a model, then serves Sentiment, Embedding, Similarity and Recommendation on one port, and drains and exits 0 on SIGTERM", async () => {
    const { port, logs } = await startPlatform(["--port", "0", "--metrics-port", "-1"]);
    const address = `127.0.0.1:${port}`;
    let health = await checkHealth(address, "");
    for (let i = 0; i < 100 && health !== "SERVING"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      health = await checkHealth(address, "");
    }
    expect(health).toBe("SERVING");

    const client = new SentimentServiceClient(address, grpc.credentials.createInsecure());
    const response = await new Promise<AnalyzeResponse>((resolve, reject) =>
      client.analyze({ text: "my payment was declined twice", page: PageType.PAGE_TYPE_PAYMENT }, (e, r) => (e ? reject(e) : resolve(r!))),
    );
    client.close();
    expect(response.result?.label).toBe(SentimentLabel.SENTIMENT_LABEL_NEGATIVE);
    expect(logs.some((line) => /first run: registered two-tower v\d+ as production/.test(line))).toBe(true);

    const embedding = new EmbeddingServiceClient(address, grpc.credentials.createInsecure());
    const embedded = await new Promise<EmbedUsersResponse>((resolve, reject) =>
      embedding.embedUsers({ users: [{ input: { $case: "features", value: { device: DeviceType.DEVICE_TYPE_MOBILE, recentInteractions: [] } } }] }, (e, r) =>
        e ? reject(e) : resolve(r!),
      ),
    );
    embedding.close();
    expect(embedded.model).toEqual({ name: "two-tower", version: "1" });
    expect(embedded.embeddings[0]!.vector!.values).toHaveLength(128);

    const features = { device: DeviceType.DEVICE_TYPE_MOBILE, recentInteractions: [] };
    const similarity = new SimilarityServiceClient(address, grpc.credentials.createInsecure());
    const similar = await new Promise<FindSimilarUsersResponse>((resolve, reject) =>
      similarity.findSimilarUsers({ query: { $case: "features", value: features }, topK: 5 }, (e, r) => (e ? reject(e) : resolve(r!))),
    );
    similarity.close();
    expect(similar.model).toEqual({ name: "two-tower", version: "1" });
    expect(similar.users).toHaveLength(5);
    const recommendation = new RecommendationServiceClient(address, grpc.credentials.createInsecure());
    const recommended = await new Promise<RecommendItemsResponse>((resolve, reject) =>
      recommendation.recommendItems({ userId: "", features, topK: 5, excludeItemIds: [] }, (e, r) => (e ? reject(e) : resolve(r!))),
    );
    recommendation.close();
    expect(recommended.items).toHaveLength(5);

    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    child!.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(logs.some((line) => line.includes('"msg":"server stopped"'))).toBe(true);
    // Start-up loads the rule scorer with its spelling dictionary; allow what startPlatform allows.
  }, 90_000);

  it("reuses the registered model on the next start instead of training again", async () => {
    const { logs } = await startPlatform(["--port", "0", "--metrics-port", "-1"]);
    expect(logs.some((line) => line.includes("first run"))).toBe(false);
  });

  it("refuses a busy metrics port at start-up, naming the setting, without a stack trace", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const busy = (blocker.address() as { port: number }).port;
    try {
      const failure = await startPlatform(["--port", "0", "--metrics-port", String(busy)]).catch((error: Error) => error.message);
      expect(failure).toMatch(new RegExp(`configuration error: --metrics-port \\(env FUNNEL_METRICS_PORT\\): port ${busy} on 127\\.0\\.0\\.1 is already in use`));
      expect(failure).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("lists every setting once with --help", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "src/main.ts", "--help"], { cwd: packageDir });
    for (const flag of ["--port", "--metrics-port", "--log-level", "--sentiment-cache-entries", "--sentiment-max-batch", "--embedding-max-batch", "--registry", "--pseudonym-salt", "--model-poll-ms", "--first-run-users"]) {
      expect(stdout.match(new RegExp(`^  ${flag} <`, "gm")), flag).toHaveLength(1);
    }
  });

  it("refuses to start on a bad setting, naming it", async () => {
    await expect(startPlatform(["--port", "70000"])).rejects.toThrow(/configuration error: invalid flag --port \(port\): must be between 0 and 65535/);
  });
});
