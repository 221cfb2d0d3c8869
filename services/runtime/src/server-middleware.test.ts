// The middleware chain on a real server: order and composition, the request id on log lines and in the
// trailer, context values across layers, and a metrics label added by a layer.
import { Writable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { PageType, SentimentLabel, SentimentResult, SentimentServiceClient, SentimentServiceService, type AnalyzeResponse } from "@funnel/proto";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { CallContext } from "./call-context.js";
import { createContextKey, modelVersionKey, requestIdKey } from "./context-values.js";
import { InvalidArgumentError } from "./errors.js";
import { chainServerMiddleware, composeServerMiddleware, type ServerMiddleware } from "./server-middleware.js";
import { ServingServer } from "./serving-server.js";

const variantKey = createContextKey<string>("none", { description: "variant" });

function response(text: string): AnalyzeResponse {
  return {
    result: SentimentResult.fromPartial({ label: SentimentLabel.SENTIMENT_LABEL_NEUTRAL, score: 0, confidence: 1, method: 1, ruleSetVersion: text }),
    model: { name: "fixture", version: "3" },
  };
}

/** Log lines as parsed JSON, from a real pino logger writing to memory. */
function memoryLogger(level = "debug") {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level }, stream), lines };
}

let server: ServingServer | undefined;
let client: SentimentServiceClient | undefined;

afterEach(async () => {
  client?.close();
  await server?.shutdown();
  server = client = undefined;
});

async function start(setup: (server: ServingServer) => void, analyze: (text: string, ctx: CallContext) => Promise<AnalyzeResponse>, log = memoryLogger().log) {
  server = new ServingServer({ config: { host: "127.0.0.1", port: 0, metricsPort: 0, maxMessageBytes: 64 * 1024, shutdownGraceMs: 1_000 }, log });
  setup(server);
  const name = server.addService(SentimentServiceService, {
    analyze: (request, ctx) => analyze(request.text, ctx),
    analyzeBatch: async () => ({ results: [], model: undefined }),
    aggregateFeedback: async () => ({ overall: undefined, byPage: [], byUser: [], byDevice: [], byHour: [], byDay: [], model: undefined }),
  });
  const ports = await server.start();
  server.setReady(name, true);
  client = new SentimentServiceClient(`127.0.0.1:${ports.port}`, grpc.credentials.createInsecure());
  return { metricsPort: ports.metricsPort! };
}

/** Calls Analyze; resolves with the response or error and the trailing metadata. */
function call(text: string, metadata = new grpc.Metadata()) {
  return new Promise<{ response?: AnalyzeResponse; error?: grpc.ServiceError; trailer: grpc.Metadata }>((resolve) => {
    let result: { response?: AnalyzeResponse; error?: grpc.ServiceError } = {};
    const pending = client!.analyze({ text, page: PageType.PAGE_TYPE_HOME }, metadata, (error, response) => {
      result = error ? { error } : { response: response! };
    });
    pending.on("status", (status: grpc.StatusObject) => setImmediate(() => resolve({ ...result, trailer: status.metadata })));
  });
}

describe("composeServerMiddleware", () => {
  it("runs layers outermost first on the way in and last on the way out", async () => {
    const trace: string[] = [];
    const layer =
      (name: string): ServerMiddleware =>
      async (call, ctx, next) => {
        trace.push(`${name}>`);
        const result = await next(call, ctx);
        trace.push(`<${name}`);
        return result;
      };
    const composed = composeServerMiddleware(layer("a"), layer("b"), layer("c"));
    const run = chainServerMiddleware([composed, layer("d")], async (call) => {
      trace.push(`handler(${call.request})`);
      return "done";
    });
    const method = { service: "s.S", name: "S/M", path: "/s.S/M", requestStream: false };
    const ctx = new CallContext("S/M", new grpc.Metadata(), memoryLogger().log, undefined);
    await expect(run({ method, request: "req" }, ctx)).resolves.toBe("done");
    expect(trace).toEqual(["a>", "b>", "c>", "d>", "handler(req)", "<d", "<c", "<b", "<a"]);
  });

  it("lets a layer answer without calling the handler, or pass on a rewritten request", async () => {
    const seen: unknown[] = [];
    const shortCircuit: ServerMiddleware = async (call, ctx, next) => (call.request === "stop" ? "stopped early" : next(call, ctx));
    const rewrite: ServerMiddleware = async (call, ctx, next) => next({ ...call, request: `${call.request}!` }, ctx);
    const run = chainServerMiddleware([composeServerMiddleware(shortCircuit, rewrite)], async (call) => {
      seen.push(call.request);
      return call.request;
    });
    const method = { service: "s.S", name: "S/M", path: "/s.S/M", requestStream: false };
    const ctx = () => new CallContext("S/M", new grpc.Metadata(), memoryLogger().log, undefined);
    await expect(run({ method, request: "stop" }, ctx())).resolves.toBe("stopped early");
    await expect(run({ method, request: "go" }, ctx())).resolves.toBe("go!");
    expect(seen).toEqual(["go!"]);
  });
});

describe("ServingServer middleware chain", () => {
  it("runs use() layers in order inside the built-in ones, with the method and typed values", async () => {
    const trace: string[] = [];
    await start(
      (s) =>
        s
          .use(async (call, ctx, next) => {
            trace.push(`outer ${call.method.name} ${call.method.service} ready`);
            ctx.values.set(variantKey, "b");
            return next(call, ctx);
          })
          .use(async (call, ctx, next) => {
            trace.push(`inner sees variant ${ctx.values.get(variantKey)}`);
            const result = await next(call, ctx);
            trace.push(`inner sees model ${ctx.values.get(modelVersionKey)}`);
            return result;
          }),
      async (text, ctx) => {
        trace.push(`handler ${text}`);
        ctx.values.set(modelVersionKey, "3");
        return response(text);
      },
    );
    const { response: answer } = await call("hello");
    expect(answer?.result?.ruleSetVersion).toBe("hello");
    expect(trace).toEqual(["outer SentimentService/Analyze funnel.v1.SentimentService ready", "inner sees variant b", "handler hello", "inner sees model 3"]);
    expect(() => server!.use(async (c, x, n) => n(c, x))).toThrow(/before start/);
  });

  it("maps an error thrown by a use() layer to its status like a handler's", async () => {
    await start(
      (s) => s.use(async () => Promise.reject(new InvalidArgumentError("variant", "unknown experiment arm"))),
      async (text) => response(text),
    );
    const { error } = await call("x");
    expect(error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: "variant: unknown experiment arm" });
  });

  it("answers with the status of a handler or layer that throws instead of rejecting, and releases the call", async () => {
    await start(
      (s) =>
        s.use((call, ctx, next) => {
          if ((call.request as { text: string }).text === "layer") throw new InvalidArgumentError("text", "refused by a layer");
          return next(call, ctx);
        }),
      (text) => {
        throw new InvalidArgumentError("text", `refused ${text}`);
      },
    );
    expect((await call("handler")).error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: "text: refused handler" });
    expect((await call("layer")).error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: "text: refused by a layer" });
    expect(server!.inFlightCalls).toBe(0);
  });

  it("echoes the caller's x-request-id in the trailer and puts it on every log line of the call", async () => {
    const { log, lines } = memoryLogger();
    await start(
      () => undefined,
      async (text, ctx) => {
        ctx.log.info({ seen: ctx.values.get(requestIdKey) }, "handler line");
        if (text === "boom") throw new Error("internal detail");
        return response(text);
      },
      log,
    );
    const metadata = new grpc.Metadata();
    metadata.set("x-request-id", "req-42");
    const ok = await call("fine", metadata);
    expect(ok.trailer.get("x-request-id")).toEqual(["req-42"]);
    const callLines = lines.filter((l) => l.requestId === "req-42");
    expect(callLines.map((l) => l.msg)).toEqual(["handler line", "call finished"]);
    expect(callLines[0]).toMatchObject({ seen: "req-42", method: "SentimentService/Analyze" });
    expect(callLines[1]).toMatchObject({ code: "OK" });

    const failing = new grpc.Metadata();
    failing.set("x-request-id", "req-43");
    const failed = await call("boom", failing);
    expect(failed.error?.code).toBe(grpc.status.INTERNAL);
    expect(failed.trailer.get("x-request-id")).toEqual(["req-43"]);
    expect(lines.filter((l) => l.requestId === "req-43").map((l) => l.msg)).toEqual(["handler line", "unhandled error in handler", "call finished"]);
  });

  it("generates a request id when the caller sends none (or an unusable one), different per call", async () => {
    const { log, lines } = memoryLogger();
    await start(() => undefined, async (text) => response(text), log);
    const first = await call("a");
    const bad = new grpc.Metadata();
    bad.set("x-request-id", "x".repeat(500));
    const second = await call("b", bad);
    const [id1] = first.trailer.get("x-request-id") as string[];
    const [id2] = second.trailer.get("x-request-id") as string[];
    expect(id1).toMatch(/^[\w-]{12}-[0-9a-z]+$/);
    expect(id2).toMatch(/^[\w-]{12}-[0-9a-z]+$/);
    expect(id1).not.toBe(id2);
    expect(lines.filter((l) => l.msg === "call finished").map((l) => l.requestId)).toEqual([id1, id2]);
  });

  it("labels call metrics with a label a layer declares and sets, beside model version", async () => {
    const { metricsPort } = await start(
      (s) => {
        s.metrics.addLabel("variant", variantKey);
        s.use(async (call, ctx, next) => {
          ctx.values.set(variantKey, (call.request as { text: string }).text.startsWith("b") ? "treatment" : "control");
          return next(call, ctx);
        });
      },
      async (text, ctx) => {
        ctx.values.set(modelVersionKey, "3");
        if (text === "bad") throw new InvalidArgumentError("text", "is bad");
        return response(text);
      },
    );
    await call("a1");
    await call("a2");
    await call("b1");
    await call("bad");
    const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(body).toMatch(/funnel_grpc_requests_total\{method="SentimentService\/Analyze",code="OK",model_version="3",variant="control"\} 2/);
    expect(body).toMatch(/funnel_grpc_requests_total\{method="SentimentService\/Analyze",code="OK",model_version="3",variant="treatment"\} 1/);
    expect(body).toMatch(/funnel_grpc_errors_total\{method="SentimentService\/Analyze",code="INVALID_ARGUMENT",model_version="3",variant="treatment"\} 1/);
    expect(body).toMatch(/funnel_grpc_request_duration_seconds_count\{method="SentimentService\/Analyze",model_version="3",variant="control"\} 2/);
    expect(() => server!.metrics.addLabel("late", variantKey)).toThrow(/before start/);
  });
});
