// gRPC server bootstrap shared by every service: typed handlers with a call context, a middleware chain
// (request id and logging, metrics, the error boundary, drain/readiness, deadlines, then any added with
// use()), standard health (NOT_SERVING until models are loaded), reflection, graceful shutdown.
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { DESCRIPTOR_SET_FILES } from "@funnel/proto";
import type { Logger } from "pino";
import { CallContext } from "./call-context.js";
import { ConfigError, servingSettings, type ServingConfig, type SettingSpec } from "./config.js";
import { errorToStatus } from "./error-boundary.js";
import { CancelledError, ServiceError } from "./errors.js";
import { deadlineMiddleware } from "./middleware/deadline-middleware.js";
import { StatusError, errorBoundaryMiddleware } from "./middleware/error-boundary-middleware.js";
import { metricsMiddleware } from "./middleware/metrics-middleware.js";
import { requestLoggingMiddleware } from "./middleware/request-logging-middleware.js";
import { ServingGate, type ServingState } from "./middleware/serving-gate.js";
import { chainServerMiddleware, type CallHandler, type MethodInfo, type ServerMiddleware } from "./server-middleware.js";
import { TolerantServer } from "./malformed-request.js";
import { ReflectionService } from "./reflection-service.js";
import { CallerAuthenticator } from "./security/caller-authenticator.js";
import { CallerLimits } from "./security/caller-limits.js";
import { securityMiddleware } from "./security/security-middleware.js";
import { SECURITY_OFF, serverTlsSettings, type SecurityConfig } from "./security/security-settings.js";
import { serverTls, type ServerTls } from "./security/tls-credentials.js";
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
  config: Pick<ServingConfig, "host" | "port" | "metricsPort" | "maxMessageBytes" | "shutdownGraceMs"> &
    Partial<Pick<ServingConfig, "maxConnectionAgeMs" | "maxConnectionAgeGraceMs">>;
  log: Logger;
  metrics?: ServingMetrics;
  /** TLS, caller authentication and per-caller limits; all off when absent (the embedded default). */
  security?: SecurityConfig;
}

/** One served method: its info, its handler, and (from start()) its middleware chain. */
interface Route {
  info: MethodInfo;
  handler: CallHandler;
  run: CallHandler | undefined;
}

/**
 * The grpc.health.v1 service name a liveness probe asks: SERVING while the process answers (serving or
 * draining), whatever its models and dependencies. Readiness is the services' own names (and "" for all of
 * them); a liveness probe on readiness would restart every pod during a Milvus or registry outage.
 */
export const LIVENESS_SERVICE = "liveness";

export class ServingServer {
  readonly metrics: ServingMetrics;
  private readonly server: grpc.Server;
  private readonly health = new HealthImplementation({ "": "NOT_SERVING", [LIVENESS_SERVICE]: "NOT_SERVING" });
  private readonly gate = new ServingGate();
  private readonly ready = this.gate.ready;
  private readonly routes: Route[] = [];
  private readonly middleware: ServerMiddleware[];
  private closeMetrics: (() => Promise<void>) | undefined;
  private readonly shutdownHooks: (() => void | Promise<void>)[] = [];
  private readonly tls: ServerTls;
  /** The plaintext health-only server for probes (--health-port), when configured. */
  private healthServer: grpc.Server | undefined;
  private readonly auth: CallerAuthenticator | undefined;

  constructor(private readonly options: ServingServerOptions) {
    this.metrics = options.metrics ?? new ServingMetrics();
    const security = options.security ?? SECURITY_OFF;
    this.tls = serverTls(security, options.log.child({ component: "tls" }));
    this.auth = authenticatorFor(security, options.log.child({ component: "auth" }));
    const limits = new CallerLimits(security.limits);
    this.server = new TolerantServer({
      "grpc.max_receive_message_length": options.config.maxMessageBytes,
      "grpc.max_send_message_length": options.config.maxMessageBytes,
      ...connectionAgeOptions(options.config),
      interceptors: this.auth ? closedBuiltInServices(this.auth, security.auth) : [],
    });
    this.health.addToServer(this.server);
    // Outermost first. The request id and logging wrap everything, so every outcome carries the id; metrics
    // see every call with its final status; below the boundary anything may be thrown. Callers are checked
    // before readiness, so a caller without credentials learns nothing about the server's state.
    this.middleware = [requestLoggingMiddleware, metricsMiddleware(this.metrics), errorBoundaryMiddleware];
    if (this.auth || limits.enabled) this.middleware.push(securityMiddleware(this.auth, limits));
    this.middleware.push(this.gate.middleware, deadlineMiddleware);
  }

  /** SHA-256 fingerprint of the TLS certificate being served; undefined for plaintext. */
  get tlsFingerprint(): string | undefined {
    return this.tls.files?.fingerprint;
  }

  private get state(): ServingState {
    return this.gate.state;
  }

  private set state(state: ServingState) {
    this.gate.state = state;
  }

  /**
   * Adds a middleware layer inside the built-in ones (request id and logging, metrics, error boundary,
   * drain/readiness, deadlines) and inside layers added before it; it sees every call that passed the
   * readiness check, for every service. Before start() only.
   */
  use(middleware: ServerMiddleware): this {
    if (this.state !== "new") throw new Error("middleware must be added before start()");
    this.middleware.push(middleware);
    return this;
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
      const handler = (handlers as Record<string, (request: unknown, ctx: CallContext) => Promise<unknown>>)[key];
      if (!handler) throw new Error(`${name}: no handler for ${key}`);
      if (method.responseStream) throw new Error(`${name}.${key}: server streaming is not supported by this runtime`);
      const info: MethodInfo = {
        service: name,
        name: `${name.slice(name.lastIndexOf(".") + 1)}/${method.path.split("/")[2]}`,
        path: method.path,
        requestStream: method.requestStream,
      };
      const route: Route = { info, handler: (call, ctx) => handler(call.request, ctx), run: undefined };
      this.routes.push(route);
      implementation[key] = method.requestStream
        ? (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
            const ctx = this.openCall(info, call);
            this.respond(route, ctx, readMessages(call, ctx), callback);
          }
        : (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
            this.respond(route, this.openCall(info, call), call.request, callback);
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
  async start(): Promise<{ port: number; metricsPort: number | undefined; healthPort?: number }> {
    if (this.state !== "new") throw new Error("server already started");
    for (const route of this.routes) route.run = chainServerMiddleware(this.middleware, route.handler);
    this.metrics.fixLabels();
    this.addReflection();
    const { host, port, metricsPort } = this.options.config;
    const bound = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(bindAddress(host, port), this.tls.credentials, (error, p) =>
        error ? reject(portError(servingSettings.port, host, port, error)) : resolve(p),
      );
    });
    const healthPort = this.options.security?.tls.healthPort ?? -1;
    let healthBound: number | undefined;
    if (healthPort >= 0) {
      // Same health state as the main port, nothing else: the one thing a probe without TLS may ask.
      this.healthServer = new grpc.Server();
      this.health.addToServer(this.healthServer);
      const server = this.healthServer;
      healthBound = await new Promise<number>((resolve, reject) =>
        server.bindAsync(bindAddress(host, healthPort), grpc.ServerCredentials.createInsecure(), (error, p) =>
          error ? reject(portError(serverTlsSettings.healthPort, host, healthPort, error)) : resolve(p),
        ),
      ).catch((error: unknown) => {
        this.server.forceShutdown();
        this.state = "stopped";
        throw error;
      });
    }
    let metricsBound: number | undefined;
    if (metricsPort >= 0) {
      try {
        const metrics = await this.metrics.listen(host, metricsPort);
        metricsBound = metrics.port;
        this.closeMetrics = metrics.close;
      } catch (error) {
        this.server.forceShutdown();
        this.healthServer?.forceShutdown();
        this.state = "stopped";
        throw portError(servingSettings.metricsPort, host, metricsPort, error as Error);
      }
    }
    this.state = "serving";
    this.publishHealth();
    const tls = this.tls.files ? (this.options.security?.tls.requireClientCert ? "mutual" : "on") : "off";
    this.options.log.info({ port: bound, metricsPort: metricsBound, healthPort: healthBound, tls, auth: this.auth !== undefined, services: [...this.ready.keys()] }, "gRPC server listening");
    if (!this.tls.files && !isLoopback(host)) {
      this.options.log.warn({ host }, "serving plaintext gRPC on a non-loopback address: anyone on the network can read and forge calls; set --tls-cert-file and --tls-key-file");
    }
    return { port: bound, metricsPort: metricsBound, ...(healthBound !== undefined ? { healthPort: healthBound } : {}) };
  }

  /**
   * Runs `hook` once the server has stopped (after in-flight calls finished or were cancelled): a module
   * releases what it holds beside models there, e.g. a router's upstream channels and file watchers.
   */
  onShutdown(hook: () => void | Promise<void>): void {
    this.shutdownHooks.push(hook);
  }

  /** Calls being handled now. */
  get inFlightCalls(): number {
    return this.gate.inFlightCalls;
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
    this.options.log.info({ inFlight: this.gate.inFlightCalls }, "shutting down: draining in-flight calls");
    if (wasServing) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.options.log.warn({ inFlight: this.gate.inFlightCalls }, "grace period over: cancelling remaining calls");
          this.gate.abortInFlight(new CancelledError("server shutting down"));
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
    this.healthServer?.forceShutdown();
    this.tls.files?.close();
    this.auth?.close();
    for (const hook of this.shutdownHooks) await hook();
    this.state = "stopped";
    this.options.log.info("server stopped");
  }

  private publishHealth(): void {
    const serving = this.state === "serving";
    for (const [name, ready] of this.ready) {
      this.health.setStatus(name, serving && ready ? "SERVING" : "NOT_SERVING");
      this.metrics.setServing(name, serving && ready);
    }
    const all = serving && this.ready.size > 0 && [...this.ready.values()].every(Boolean);
    this.health.setStatus("", all ? "SERVING" : "NOT_SERVING");
    this.health.setStatus(LIVENESS_SERVICE, serving || this.state === "draining" ? "SERVING" : "NOT_SERVING");
  }

  private addReflection(): void {
    ReflectionService.fromDescriptorSetFiles(DESCRIPTOR_SET_FILES, [...this.ready.keys(), "grpc.health.v1.Health"]).addToServer(this.server);
  }

  private openCall(info: MethodInfo, call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown>): CallContext {
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
    return new CallContext(info.name, call.metadata, this.options.log, Number.isFinite(deadlineMs) ? new Date(deadlineMs) : undefined, call);
  }

  /** Runs the call through its chain and answers; the status carries the context's trailer either way. */
  private respond(
    route: Route,
    ctx: CallContext,
    request: unknown,
    callback: grpc.sendUnaryData<unknown>,
  ): void {
    route.run!({ method: route.info, request }, ctx).then(
      (response) => {
        ctx.markAnswered();
        this.gate.release(ctx);
        callback(null, response, ctx.trailerIfSet);
      },
      (error: unknown) => {
        ctx.markAnswered();
        this.gate.release(ctx);
        const status = error instanceof StatusError ? error.status : errorToStatus(error, ctx.log);
        const trailer = ctx.trailerIfSet;
        callback(trailer ? { ...status, metadata: mergedMetadata(status.metadata, trailer) } : status);
      },
    );
  }
}

function authenticatorFor(security: SecurityConfig, log: Logger): CallerAuthenticator | undefined {
  if (!security.auth.enabled) return undefined;
  if (!security.auth.callersFile) {
    throw new ConfigError("--auth needs --auth-callers-file (env FUNNEL_AUTH_CALLERS_FILE): the callers, their token hashes and roles");
  }
  return new CallerAuthenticator({ callersFile: security.auth.callersFile, reloadMs: security.reloadMs, log });
}

/**
 * Health and reflection are served by their libraries, outside the middleware chain; when they are closed a
 * grpc-js interceptor asks the same authenticator before they run.
 */
function closedBuiltInServices(auth: CallerAuthenticator, options: SecurityConfig["auth"]): grpc.ServerInterceptor[] {
  const closed = (path: string) =>
    (!options.healthOpen && path.startsWith("/grpc.health.v1.")) || (!options.reflectionOpen && path.startsWith("/grpc.reflection."));
  return [
    (descriptor, call) => {
      if (!closed(descriptor.path)) return call as grpc.ServerInterceptingCall;
      return new grpc.ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMetadata: (metadata, pass) => {
              try {
                auth.authorize(auth.identify(metadata, call.getAuthContext().sslPeerCertificate), descriptor.path.slice(1));
                pass(metadata);
              } catch (error) {
                const code = error instanceof ServiceError ? error.code : grpc.status.INTERNAL;
                call.sendStatus({ code, details: (error as Error).message });
              }
            },
          }),
      });
    },
  ];
}

/** "host:port", with an IPv6 host in brackets. */
function bindAddress(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\./.test(host);
}

function mergedMetadata(metadata: grpc.Metadata | undefined, trailer: grpc.Metadata): grpc.Metadata {
  if (!metadata) return trailer;
  const merged = metadata.clone();
  merged.merge(trailer);
  return merged;
}

/**
 * A port that cannot be bound is a start-up configuration error naming the setting to change, not a stack
 * trace: the usual cause is another process (or a second instance) already listening there.
 */
function portError(spec: SettingSpec<number>, host: string, port: number, error: Error): ConfigError {
  const inUse = /EADDRINUSE|address already in use/i.test(`${(error as NodeJS.ErrnoException).code ?? ""} ${error.message}`);
  const reason = inUse ? "is already in use by another process" : `cannot be bound (${error.message})`;
  return new ConfigError(
    `${spec.flag} (env ${spec.env}): port ${port} on ${host} ${reason}; choose another port, or 0 for a free one${spec === servingSettings.metricsPort ? ", or -1 to turn metrics off" : spec === serverTlsSettings.healthPort ? ", or -1 for none" : ""}`,
  );
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
async function* readMessages<T>(call: grpc.ServerReadableStream<T, unknown>, ctx: CallContext): AsyncIterable<T> {
  const iterator = (call as unknown as AsyncIterable<T>)[Symbol.asyncIterator]();
  const aborted = rejectOnAbort(ctx.signal);
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

/** grpc-js server options for the connection age settings; absent or 0 keeps grpc-js's default (no limit). */
export function connectionAgeOptions(config: Partial<Pick<ServingConfig, "maxConnectionAgeMs" | "maxConnectionAgeGraceMs">>): grpc.ServerOptions {
  if (!config.maxConnectionAgeMs) return {};
  return {
    "grpc.max_connection_age_ms": config.maxConnectionAgeMs,
    "grpc.max_connection_age_grace_ms": config.maxConnectionAgeGraceMs ?? servingSettings.maxConnectionAgeGraceMs.default,
  };
}
