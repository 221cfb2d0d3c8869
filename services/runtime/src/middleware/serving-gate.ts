// Drain and readiness as a layer: a call is let through only while the server is serving and the call's
// service is ready (its models loaded); the calls let through are tracked so shutdown can wait for them
// and cut off the ones still running when the grace period ends.
import type { CallContext } from "../call-context.js";
import { UnavailableError } from "../errors.js";
import type { ServerMiddleware } from "../server-middleware.js";

export type ServingState = "new" | "serving" | "draining" | "stopped";

export class ServingGate {
  state: ServingState = "new";
  /** Readiness per full service name. */
  readonly ready = new Map<string, boolean>();
  /** Why a service is not ready, when its module knows better than "still loading" (e.g. Milvus down). */
  readonly notReadyReason = new Map<string, string>();
  private readonly inFlight = new Set<CallContext>();

  get inFlightCalls(): number {
    return this.inFlight.size;
  }

  /** Stops every call still in flight (they answer with `reason`'s status if they check in time). */
  abortInFlight(reason: Error): void {
    for (const ctx of this.inFlight) ctx.abort(reason);
  }

  /**
   * Refuses calls unless serving and ready, and tracks the ones it lets through until the server calls
   * `release` as it answers them (the server has that moment at hand; a promise of the gate's own per
   * call showed in the per-call profile).
   */
  readonly middleware: ServerMiddleware = (call, ctx, next) => {
    if (this.state !== "serving") return Promise.reject(new UnavailableError("server is shutting down; retry on another instance"));
    if (!this.ready.get(call.method.service)) {
      const reason = this.notReadyReason.get(call.method.service) ?? "its models are still loading";
      return Promise.reject(new UnavailableError(`${call.method.service} is not ready: ${reason}; retry shortly`));
    }
    this.inFlight.add(ctx);
    return next(call, ctx);
  };

  /** The call has been answered (whether or not the gate let it through). */
  release(ctx: CallContext): void {
    this.inFlight.delete(ctx);
  }
}
