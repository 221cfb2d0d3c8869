import * as grpc from "@grpc/grpc-js";
import {
  type AnalyzeRequest,
  PageType,
  SentimentLabel,
  SentimentResult,
  SentimentServiceClient,
  SentimentServiceService,
  type AnalyzeResponse,
} from "@funnel/proto";
import { afterEach, describe, expect, it } from "vitest";
import { checkHealth, fileContainingSymbolByReflection, listServicesByReflection } from "./testing/index.js";
import { createLogger } from "./logger.js";
import { InvalidArgumentError } from "./errors.js";
import { ServingServer } from "./serving-server.js";
import type { CallContext } from "./call-context.js";
import { modelVersionKey } from "./context-values.js";

// A fixture service on the real SentimentService definition whose handlers exercise the runtime's behaviour.
// Text commands select the behaviour: "ok", "bad", "boom", "spin" (CPU loop that checks for cancellation),
// "slow:<ms>".
function analyzeResponse(text: string): AnalyzeResponse {
  return {
    // fromPartial: fields added to SentimentResult later take their defaults here.
    result: SentimentResult.fromPartial({ label: SentimentLabel.SENTIMENT_LABEL_NEUTRAL, score: 0, confidence: 1, method: 1, ruleSetVersion: text }),
    model: { name: "fixture", version: "7" },
  };
}

const observed = { spinStoppedBy: undefined as string | undefined, signals: [] as AbortSignal[] };

async function analyze(request: AnalyzeRequest, ctx: CallContext): Promise<AnalyzeResponse> {
  ctx.values.set(modelVersionKey, "7");
  observed.signals.push(ctx.signal);
  const text = request.text;
  if (text === "bad") throw new InvalidArgumentError("text", "must be a sentence");
  if (text === "boom") throw new Error("secret internal detail");
  if (text === "spin") {
    try {
      for (;;) {
        ctx.throwIfStopped();
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      observed.spinStoppedBy = (error as Error).name;
      throw error;
    }
  }
  if (text.startsWith("slow:")) await new Promise((resolve) => setTimeout(resolve, Number(text.slice(5))));
  return analyzeResponse(text);
}

const log = createLogger("silent");
let server: ServingServer | undefined;
let client: SentimentServiceClient | undefined;

async function startFixture(options: { ready?: boolean; maxMessageBytes?: number; shutdownGraceMs?: number } = {}) {
  server = new ServingServer({
    config: { host: "127.0.0.1", port: 0, metricsPort: 0, maxMessageBytes: options.maxMessageBytes ?? 64 * 1024, shutdownGraceMs: options.shutdownGraceMs ?? 5_000 },
    log,
  });
  const name = server.addService(SentimentServiceService, {
    analyze,
    analyzeBatch: async (request) => ({ results: request.items.map((item) => analyzeResponse(item.text).result!), model: undefined }),
    aggregateFeedback: async (requests) => {
      let count = 0;
      for await (const _ of requests) count++;
      return { overall: { count, positive: 0, neutral: count, negative: 0, meanScore: 0 }, byPage: [], byUser: [], byDevice: [], byHour: [], byDay: [], model: undefined };
    },
  });
  const ports = await server.start();
  if (options.ready ?? true) server.setReady(name, true);
  const address = `127.0.0.1:${ports.port}`;
  client = new SentimentServiceClient(address, grpc.credentials.createInsecure());
  return { address, name, metricsPort: ports.metricsPort!, server, client };
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function call(text: string, deadlineMs?: number): Promise<AnalyzeResponse> {
  return new Promise((resolve, reject) => {
    const options = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
    client!.analyze({ text, page: PageType.PAGE_TYPE_HOME }, new grpc.Metadata(), options, (error, response) =>
      error ? reject(error) : resolve(response!),
    );
  });
}

afterEach(async () => {
  client?.close();
  await server?.shutdown();
  server = undefined;
  client = undefined;
});

describe("ServingServer", () => {
  it("answers a unary call through the typed handler", async () => {
    await startFixture();
    const response = await call("ok");
    expect(response.model).toEqual({ name: "fixture", version: "7" });
    expect(response.result?.ruleSetVersion).toBe("ok");
  });

  it("aborts a call the client cancels, and never the signal of a call already answered", async () => {
    await startFixture();
    observed.signals = [];
    await Promise.all(Array.from({ length: 20 }, () => call("ok")));
    // grpc-js reports every finished call as "cancelled" once its status is sent; that is not the client's cancel.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(observed.signals).toHaveLength(20);
    expect(observed.signals.filter((signal) => signal.aborted)).toHaveLength(0);

    observed.spinStoppedBy = undefined;
    const pending = client!.analyze({ text: "spin", page: PageType.PAGE_TYPE_HOME }, () => undefined);
    await waitFor(() => observed.signals.length === 21);
    pending.cancel();
    await waitFor(() => observed.spinStoppedBy !== undefined);
    expect(observed.spinStoppedBy).toBe("CancelledError");
  });

  it("reports NOT_SERVING (health and the funnel_service_serving gauge) and answers UNAVAILABLE until the service is marked ready", async () => {
    const { address, name, server, metricsPort } = await startFixture({ ready: false });
    const gauge = async () => /funnel_service_serving\{service="funnel\.v1\.SentimentService"\} (\d)/.exec(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text())?.[1];
    expect(await checkHealth(address, name)).toBe("NOT_SERVING");
    expect(await checkHealth(address, "")).toBe("NOT_SERVING");
    expect(await gauge()).toBe("0");
    await expect(call("ok")).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringContaining("not ready") });
    server.setReady(name, true);
    expect(await checkHealth(address, name)).toBe("SERVING");
    expect(await gauge()).toBe("1");
    expect(await checkHealth(address, "")).toBe("SERVING");
    expect(await checkHealth(address, "funnel.v1.NoSuchService")).toBe("SERVICE_UNKNOWN");
  });

  it("exposes the services and their descriptors through reflection", async () => {
    const { address } = await startFixture();
    const services = await listServicesByReflection(address);
    expect(services).toContain("funnel.v1.SentimentService");
    expect(services).toContain("grpc.health.v1.Health");
    const files = await fileContainingSymbolByReflection(address, "funnel.v1.AnalyzeRequest");
    expect(files.length).toBeGreaterThan(0);
    expect(Buffer.concat(files).toString("latin1")).toContain("AnalyzeRequest");
  });

  it("maps a domain error to its status with its message, and hides unknown errors", async () => {
    await startFixture();
    await expect(call("bad")).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: "text: must be a sentence" });
    const error = await call("boom").catch((e: grpc.ServiceError) => e);
    expect(error).toMatchObject({ code: grpc.status.INTERNAL });
    expect((error as grpc.ServiceError).details).not.toContain("secret");
  });

  it("stops the handler's work when the client's deadline passes", async () => {
    await startFixture();
    observed.spinStoppedBy = undefined;
    await expect(call("spin", 150)).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    await waitFor(() => observed.spinStoppedBy !== undefined);
    expect(observed.spinStoppedBy).toBe("DeadlineExceededError");
    expect(server!.inFlightCalls).toBe(0);
  });

  it("stops the handler's work when the client cancels the call", async () => {
    await startFixture();
    observed.spinStoppedBy = undefined;
    const pending = client!.analyze({ text: "spin", page: PageType.PAGE_TYPE_HOME }, () => undefined);
    await waitFor(() => server!.inFlightCalls === 1);
    pending.cancel();
    await waitFor(() => observed.spinStoppedBy !== undefined);
    expect(observed.spinStoppedBy).toBe("CancelledError");
    await waitFor(() => server!.inFlightCalls === 0);
  });

  it("refuses a request over the size limit with RESOURCE_EXHAUSTED", async () => {
    await startFixture({ maxMessageBytes: 2048 });
    await expect(call("x".repeat(4096))).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    await expect(call("ok")).resolves.toBeDefined();
  });

  it("answers bytes that are not the method's message with INVALID_ARGUMENT, on its own services and on health, and in a stream", async () => {
    // Found by fuzzing: grpc-js answers a failing decoder with INTERNAL "Error deserializing request".
    const { address } = await startFixture();
    const raw = new grpc.Client(address, grpc.credentials.createInsecure());
    const identity = (value: Buffer) => value;
    // A tag varint that never ends: every decoder (ts-proto's, protobufjs's for health) must refuse it.
    const garbage = Buffer.from([0xff, 0xff, 0xff]);
    const unary = (path: string) =>
      new Promise<grpc.ServiceError | null>((resolve) => raw.makeUnaryRequest(path, identity, identity, garbage, (error) => resolve(error)));
    for (const path of ["/funnel.v1.SentimentService/Analyze", "/grpc.health.v1.Health/Check"]) {
      const error = await unary(path);
      expect(error?.code, path).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error?.details).toContain(`request to ${path} is not a valid protobuf message`);
    }
    const streamed = await new Promise<grpc.ServiceError | null>((resolve) => {
      const stream = raw.makeClientStreamRequest("/funnel.v1.SentimentService/AggregateFeedback", identity, identity, (error) => resolve(error));
      stream.write(Buffer.alloc(0));
      stream.write(garbage);
      stream.end();
    });
    raw.close();
    expect(streamed?.code).toBe(grpc.status.INVALID_ARGUMENT);
    await expect(call("ok")).resolves.toBeDefined();
  });

  it("counts calls by method, code and model version on /metrics", async () => {
    const { metricsPort } = await startFixture();
    await call("ok");
    await call("bad").catch(() => undefined);
    const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(body).toMatch(/funnel_grpc_requests_total\{method="SentimentService\/Analyze",code="OK",model_version="7"\} 1/);
    expect(body).toMatch(/funnel_grpc_errors_total\{method="SentimentService\/Analyze",code="INVALID_ARGUMENT",model_version="7"\} 1/);
    expect(body).toContain("funnel_grpc_request_duration_seconds_bucket");
  });

  it("reads a client stream to its end", async () => {
    await startFixture();
    const response = await new Promise<{ overall?: { count: number } }>((resolve, reject) => {
      const stream = client!.aggregateFeedback((error, res) => (error ? reject(error) : resolve(res!)));
      for (let i = 0; i < 5; i++) stream.write({ record: { userId: `u${i}`, page: 1, device: 1, text: "hi" } });
      stream.end();
    });
    expect(response.overall?.count).toBe(5);
  });

  it("runs shutdown hooks once, after the server has stopped", async () => {
    const { address } = await startFixture();
    const seen: string[] = [];
    server!.onShutdown(async () => {
      seen.push(await checkHealth(address).then(() => "still answering", () => "stopped"));
    });
    await server!.shutdown();
    await server!.shutdown();
    expect(seen).toEqual(["stopped"]);
  });

  it("drains in-flight calls on shutdown and refuses new ones", async () => {
    const { address } = await startFixture();
    const slow = call("slow:300");
    await waitFor(() => server!.inFlightCalls === 1);
    const stopping = server!.shutdown();
    expect(await checkHealth(address, "").catch(() => "UNREACHABLE")).not.toBe("SERVING");
    await expect(slow).resolves.toMatchObject({ result: { ruleSetVersion: "slow:300" } });
    await stopping;
    await expect(call("ok", 1000)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it("cancels calls still running when the grace period ends", async () => {
    await startFixture({ shutdownGraceMs: 100 });
    observed.spinStoppedBy = undefined;
    const spinning = call("spin").catch((e: grpc.ServiceError) => e);
    await waitFor(() => server!.inFlightCalls === 1);
    await server!.shutdown();
    const error = await spinning;
    expect((error as grpc.ServiceError).code).toBeDefined();
    await waitFor(() => observed.spinStoppedBy !== undefined);
    expect(observed.spinStoppedBy).toBe("CancelledError");
  });
});
