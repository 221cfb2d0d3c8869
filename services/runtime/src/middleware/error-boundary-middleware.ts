// The error boundary as a layer: below it anything may be thrown; above it (metrics, logging, the server)
// every failure is a StatusError carrying the status the client will get. The mapping itself is
// errorToStatus, the one place that turns a thrown value into a status.
import { status, type StatusObject } from "@grpc/grpc-js";
import { errorToStatus } from "../error-boundary.js";
import type { ServerMiddleware } from "../server-middleware.js";

/** A failure already mapped to the status the client gets. */
export class StatusError extends Error {
  constructor(readonly status: StatusObject) {
    super(status.details);
    this.name = "StatusError";
  }
}

export const errorBoundaryMiddleware: ServerMiddleware = async (call, ctx, next) => {
  try {
    return await next(call, ctx);
  } catch (error) {
    throw error instanceof StatusError ? error : new StatusError(errorToStatus(error, ctx.log));
  }
};

/** Status name of a failure seen above the boundary ("UNKNOWN" for anything that did not pass it). */
export function statusNameOf(error: unknown): string {
  const code = error instanceof StatusError ? error.status.code : status.UNKNOWN;
  return status[code] ?? String(code);
}
