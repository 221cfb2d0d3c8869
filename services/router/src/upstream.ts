// One upstream target (a headless Service running one model version): a grpc-js channel that resolves every
// pod address and balances calls round robin over them, per-call deadlines, retries of idempotent calls on
// UNAVAILABLE, and a circuit breaker (opossum) that stops sending to a target that keeps failing.
import * as grpc from "@grpc/grpc-js";
import CircuitBreaker from "opossum";
import type { UpstreamPolicy } from "./experiment-config.js";

/** A failed upstream call: the upstream's status, or the router's own (breaker open). */
export class UpstreamFailure extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details);
    this.name = "UpstreamFailure";
  }
}

/** Call options of one forwarded call. */
export interface UpstreamCall {
  readonly path: string;
  readonly metadata: grpc.Metadata;
  /** The caller's deadline, if any; the upstream gets the earlier of it and now + policy deadline. */
  readonly deadline: Date | undefined;
  readonly idempotent: boolean;
  readonly signal?: AbortSignal;
}

// Statuses that say the upstream (not the request) is in trouble; only these count against the breaker.
const UPSTREAM_FAULTS = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.INTERNAL, grpc.status.UNKNOWN]);
const identity = (bytes: Buffer): Buffer => bytes;

/** How the router reaches its upstreams: channel credentials (TLS, its token) and the options they need. */
export interface UpstreamConnection {
  credentials: grpc.ChannelCredentials;
  options: grpc.ChannelOptions;
}

const PLAINTEXT: UpstreamConnection = { credentials: grpc.credentials.createInsecure(), options: {} };

export class Upstream {
  private readonly client: grpc.Client;
  private readonly breaker: CircuitBreaker<[() => Promise<Buffer>], Buffer>;

  constructor(
    readonly target: string,
    private readonly policy: UpstreamPolicy,
    connection: UpstreamConnection = PLAINTEXT,
  ) {
    // A headless Service gives one DNS answer per ready pod; round robin spreads calls over all of them (the
    // default pick_first would pin every call of this router to one pod). grpc-js resolves the name again only
    // when a connection closes (no periodic re-resolution, and at most once per grpc.dns_min_time_between_
    // resolutions_ms), so pods added later get calls once the servers' maximum connection age closes an old
    // connection (FUNNEL_MAX_CONNECTION_AGE_MS); a pod that went away drops out when its connection fails.
    this.client = new grpc.Client(target, connection.credentials, {
      ...connection.options,
      "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
    });
    const breaker = policy.circuitBreaker;
    this.breaker = new CircuitBreaker((run: () => Promise<Buffer>) => run(), {
      timeout: false, // the gRPC deadline bounds each call
      errorThresholdPercentage: breaker.failureRate * 100,
      resetTimeout: breaker.openSeconds * 1_000,
      volumeThreshold: breaker.minCalls,
      rollingCountTimeout: 10_000,
      errorFilter: (error: UpstreamFailure) => !UPSTREAM_FAULTS.has(error.code),
    });
  }

  /** True while the breaker refuses calls. */
  get circuitOpen(): boolean {
    return this.breaker.opened;
  }

  /** One unary call with the caller's bytes; retried (idempotent calls only) while UNAVAILABLE and time remains. */
  async unary(request: Buffer, call: UpstreamCall): Promise<Buffer> {
    const deadline = this.deadlineFor(call.deadline);
    const attempts = call.idempotent ? 1 + this.policy.retries : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.guarded(() => this.sendUnary(request, call, deadline));
      } catch (error) {
        const failure = error as UpstreamFailure;
        if (failure.code !== grpc.status.UNAVAILABLE || attempt >= attempts || this.circuitOpen || Date.now() >= deadline) throw failure;
      }
    }
  }

  /** One client-streaming call: the caller's messages in order, never retried (they cannot be replayed). */
  clientStream(requests: AsyncIterable<Buffer>, call: UpstreamCall): Promise<Buffer> {
    const deadline = this.deadlineFor(call.deadline);
    return this.guarded(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          const stream = this.client.makeClientStreamRequest<Buffer, Buffer>(call.path, identity, identity, call.metadata, { deadline }, (error, response) =>
            error ? reject(failureOf(error)) : resolve(response!),
          );
          const cancel = () => stream.cancel();
          call.signal?.addEventListener("abort", cancel, { once: true });
          (async () => {
            for await (const message of requests) {
              if (!stream.write(message)) await new Promise((r) => stream.once("drain", r));
            }
            stream.end();
          })().catch(() => stream.cancel());
        }),
    );
  }

  close(): void {
    this.breaker.shutdown();
    this.client.close();
  }

  private deadlineFor(callerDeadline: Date | undefined): number {
    const own = Date.now() + this.policy.deadlineMs;
    return callerDeadline ? Math.min(callerDeadline.getTime(), own) : own;
  }

  private async guarded(run: () => Promise<Buffer>): Promise<Buffer> {
    try {
      return await this.breaker.fire(run);
    } catch (error) {
      if ((error as { code?: unknown }).code === "EOPENBREAKER") {
        throw new UpstreamFailure(grpc.status.UNAVAILABLE, `circuit open after repeated failures; calls resume within ${this.policy.circuitBreaker.openSeconds} s`);
      }
      throw error;
    }
  }

  private sendUnary(request: Buffer, call: UpstreamCall, deadline: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const pending = this.client.makeUnaryRequest<Buffer, Buffer>(call.path, identity, identity, request, call.metadata, { deadline }, (error, response) =>
        error ? reject(failureOf(error)) : resolve(response!),
      );
      call.signal?.addEventListener("abort", () => pending.cancel(), { once: true });
    });
  }
}

function failureOf(error: grpc.ServiceError): UpstreamFailure {
  return new UpstreamFailure(error.code, error.details || error.message);
}
