// gRPC server bootstrap shared by every service: typed handlers with a call context, one error boundary,
// deadlines, metrics, standard health (NOT_SERVING until models are loaded), reflection, graceful shutdown.
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation, protoPath as healthProtoPath } from "grpc-health-check";
import { PROTO_FILES, PROTO_ROOT } from "@funnel/proto";
import type { Logger } from "pino";
import { CallContext } from "./call-context.js";
import type { ServingConfig } from "./config.js";
import { errorToStatus } from "./error-boundary.js";
import { CancelledError, DeadlineExceededError, UnavailableError } from "./errors.js";
import { ServingMetrics } from "./serving-metrics.js";

/** A generated grpc-js service definition (ts-proto `outputServices=grpc-js`), e.g. SentimentServiceService. */
export type ServiceDefinition = Record<string, grpc.MethodDefinition<any, any>>;

type RequestOf<M> = M extends { requestDeserialize: (bytes: Buffer) => infer R } ? R : never;
type ResponseOf<M> = M extends { responseSerialize: (value: infer R) => Buffer } ? R : never;

/** Handler signatures derived from the service definition: unary and client-streaming calls. */
export type ServiceHandlers<S extends ServiceDefinition> = {
  [K in keyof S]: S[K] extends { requestStream: true; responseStream: false }
    ? (requests: AsyncIterable<RequestOf<S[K]>>, ctx: CallContext) => Promise<ResponseOf<S[K]>>
    : S[K] extends { requestStream: false; responseStream: false }
      ? (request: RequestOf<S[K]>, ctx: CallContext) => Promise<ResponseOf<S[K]>>
      : never;
};

export interface ServingServerOptions {
  config: Pick<ServingConfig, "host" | "port" | "metricsPort" | "maxMessageBytes" | "shutdownGraceMs">;
  log: Logger;
  metrics?: ServingMetrics;
}

const DEADLINE_CANCEL_TOLERANCE_MS = 50;

type State = "new" | "serving" | "draining" | "stopped";

export class ServingServer {
  readonly metrics: ServingMetrics;
  private readonly server: grpc.Server;
  private readonly health = new HealthImplementation({ "": "NOT_SERVING" });
  private readonly ready = new Map<string, boolean>();
  private readonly inFlight = new Set<AbortController>();
  private state: State = "new";
  private closeMetrics: (() => Promise<void>) | undefined;

  constructor(private readonly options: ServingServerOptions) {
    this.metrics = options.metrics ?? new ServingMetrics();
    this.server = new grpc.Server({
      "grpc.max_receive_message_length": options.config.maxMessageBytes,
      "grpc.max_send_message_length": options.config.maxMessageBytes,
    });
    this.health.addToServer(this.server);
  }

  /**
   * Adds a service. It reports NOT_SERVING on grpc.health.v1 until setReady(name) is called, which a
   * service does once its models are loaded. Returns the full service name, e.g. "funnel.v1.SentimentService".
   */
  addService<S extends ServiceDefinition>(definition: S, handlers: ServiceHandlers<S>): string {
    if (this.state !== "new") throw new Error("services must be added before start()");
    const name = serviceNameOf(definition);
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [key, method] of Object.entries(definition)) {
      const handler = (handlers as Record<string, (...args: any[]) => Promise<unknown>>)[key];
      if (!handler) throw new Error(`${name}: no handler for ${key}`);
      if (method.responseStream) throw new Error(`${name}.${key}: server streaming is not supported by this runtime`);
      const shortName = `${name.slice(name.lastIndexOf(".") + 1)}/${method.path.split("/")[2]}`;
      implementation[key] = method.requestStream
        ? (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
            const { ctx, release } = this.openCall(shortName, call);
            this.respond(name, ctx, release, () => handler(readMessages(call, ctx.signal), ctx), callback);
          }
        : (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
            const { ctx, release } = this.openCall(shortName, call);
            this.respond(name, ctx, release, () => handler(call.request, ctx), callback);
          };
    }
    this.server.addService(definition, implementation);
    this.ready.set(name, false);
    this.health.setStatus(name, "NOT_SERVING");
    return name;
  }

  /** Marks a service ready (models loaded) or not; the overall health ("") is SERVING when all are. */
  setReady(serviceName: string, ready: boolean): void {
    if (!this.ready.has(serviceName)) throw new Error(`unknown service ${serviceName}`);
    this.ready.set(serviceName, ready);
    this.publishHealth();
  }

  /** Binds the gRPC port (and the metrics port unless disabled). Resolves with the bound ports. */
  async start(): Promise<{ port: number; metricsPort: number | undefined }> {
    if (this.state !== "new") throw new Error("server already started");
    this.addReflection();
    const { host, port, metricsPort } = this.options.config;
    const bound = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) =>
        error ? reject(new Error(`cannot bind gRPC port ${host}:${port}: ${error.message}`)) : resolve(p),
      );
    });
    let metricsBound: number | undefined;
    if (metricsPort >= 0) {
      const metrics = await this.metrics.listen(host, metricsPort);
      metricsBound = metrics.port;
      this.closeMetrics = metrics.close;
    }
    this.state = "serving";
    this.publishHealth();
    this.options.log.info({ port: bound, metricsPort: metricsBound, services: [...this.ready.keys()] }, "gRPC server listening");
    return { port: bound, metricsPort: metricsBound };
  }

  /** Calls being handled now. */
  get inFlightCalls(): number {
    return this.inFlight.size;
  }

  /**
   * Graceful stop: health goes NOT_SERVING, new calls are refused, in-flight calls get shutdownGraceMs to
   * finish, then the rest are cancelled and the server is closed.
   */
  async shutdown(): Promise<void> {
    if (this.state === "stopped" || this.state === "draining") return;
    const wasServing = this.state === "serving";
    this.state = "draining";
    this.publishHealth();
    this.options.log.info({ inFlight: this.inFlight.size }, "shutting down: draining in-flight calls");
    if (wasServing) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.options.log.warn({ inFlight: this.inFlight.size }, "grace period over: cancelling remaining calls");
          for (const controller of this.inFlight) controller.abort(new CancelledError("server shutting down"));
          this.server.forceShutdown();
          resolve();
        }, this.options.config.shutdownGraceMs);
        this.server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    } else {
      this.server.forceShutdown();
    }
    await this.closeMetrics?.();
    this.state = "stopped";
    this.options.log.info("server stopped");
  }

  private publishHealth(): void {
    const serving = this.state === "serving";
    for (const [name, ready] of this.ready) this.health.setStatus(name, serving && ready ? "SERVING" : "NOT_SERVING");
    const all = serving && this.ready.size > 0 && [...this.ready.values()].every(Boolean);
    this.health.setStatus("", all ? "SERVING" : "NOT_SERVING");
  }

  private addReflection(): void {
    const healthRoot = path.resolve(path.dirname(healthProtoPath), "../..");
    const definition = protoLoader.loadSync([...PROTO_FILES, "health/v1/health.proto"], {
      includeDirs: [PROTO_ROOT, healthRoot],
      keepCase: true,
    });
    new ReflectionService(definition, { services: [...this.ready.keys(), "grpc.health.v1.Health"] }).addToServer(this.server);
  }

  private openCall(
    method: string,
    call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown>,
  ): { ctx: CallContext; release: () => void } {
    const controller = new AbortController();
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
    const hasDeadline = Number.isFinite(deadlineMs);
    let timer: NodeJS.Timeout | undefined;
    if (hasDeadline) {
      timer = setTimeout(() => controller.abort(new DeadlineExceededError()), Math.max(0, deadlineMs - Date.now()));
    }
    let finished = false;
    call.on("cancelled", () => {
      // grpc-js (1.14) also emits "cancelled" on every call right after it sends the status: only a cancel
      // before the answer is the client's. Ignoring the rest saves an Error (stack capture) and an abort per call.
      if (finished) return;
      // A client cancels its own call when its deadline passes, slightly before the server's copy of the
      // deadline (computed on arrival) runs out; a cancel that close to the deadline is the deadline.
      const expired = hasDeadline && Date.now() >= deadlineMs - DEADLINE_CANCEL_TOLERANCE_MS;
      controller.abort(expired ? new DeadlineExceededError() : new CancelledError("the client cancelled the call"));
    });
    controller.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
    this.inFlight.add(controller);
    const log = this.options.log.child({ method });
    const ctx = new CallContext(method, call.metadata, log, controller.signal, hasDeadline ? new Date(deadlineMs) : undefined);
    const release = () => {
      finished = true;
      clearTimeout(timer);
      this.inFlight.delete(controller);
    };
    return { ctx, release };
  }

  private respond(
    serviceName: string,
    ctx: CallContext,
    release: () => void,
    run: () => Promise<unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ): void {
    const started = process.hrtime.bigint();
    this.metrics.inFlight.inc({ method: ctx.method });
    const finish = (code: grpc.status, error?: grpc.StatusObject, response?: unknown) => {
      release();
      this.metrics.inFlight.dec({ method: ctx.method });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const codeName = grpc.status[code] ?? String(code);
      this.metrics.observe(ctx.method, codeName, ctx.modelVersion, seconds);
      ctx.log.debug({ code: codeName, modelVersion: ctx.modelVersion, ms: Math.round(seconds * 1e4) / 10 }, "call finished");
      if (error) callback(error);
      else callback(null, response);
    };
    const work =
      this.state !== "serving"
        ? Promise.reject(new UnavailableError("server is shutting down; retry on another instance"))
        : !this.ready.get(serviceName)
          ? Promise.reject(new UnavailableError(`${serviceName} is not ready: its models are still loading; retry shortly`))
          : Promise.resolve().then(run);
    // The answer goes out when the deadline passes even if the handler has not yet reached a check point.
    Promise.race([work, rejectOnAbort(ctx.signal)]).then(
      (response) => finish(grpc.status.OK, undefined, response),
      (error: unknown) => {
        const statusObject = errorToStatus(error, ctx.log);
        finish(statusObject.code, statusObject);
      },
    );
    // A handler that keeps running after the race was lost must not surface as an unhandled rejection.
    work.catch(() => undefined);
  }
}

/** "/funnel.v1.SentimentService/Analyze" → "funnel.v1.SentimentService". */
function serviceNameOf(definition: ServiceDefinition): string {
  const first = Object.values(definition)[0];
  if (!first) throw new Error("service definition has no methods");
  return first.path.split("/")[1]!;
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/** Client-stream messages as an async iterable that stops (throws the abort reason) when the call ends. */
async function* readMessages<T>(call: grpc.ServerReadableStream<T, unknown>, signal: AbortSignal): AsyncIterable<T> {
  const iterator = (call as unknown as AsyncIterable<T>)[Symbol.asyncIterator]();
  const aborted = rejectOnAbort(signal);
  aborted.catch(() => undefined);
  while (true) {
    const next = await Promise.race([iterator.next(), aborted]);
    if (next.done) return;
    yield next.value;
  }
}

/** On SIGTERM/SIGINT: graceful shutdown, then exit. Used by every entry point (main.ts). */
export function exitOnSignals(servers: { shutdown(): Promise<void> }[], log: Logger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "signal received");
    Promise.all(servers.map((server) => server.shutdown())).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
