// Domain errors a handler throws. Each names the gRPC status the error boundary answers with; the message
// is sent to the client as-is, so it must say what to fix and must not contain internals.
import { status } from "@grpc/grpc-js";

/** Base class: an error whose message is safe to show the caller, with its gRPC status. */
export class ServiceError extends Error {
  constructor(
    readonly code: status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** INVALID_ARGUMENT: the request is malformed; the message names the field and the rule it broke. */
export class InvalidArgumentError extends ServiceError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(status.INVALID_ARGUMENT, `${field}: ${message}`);
  }
}

/** NOT_FOUND: a model, version, alias, user or item the request names does not exist here. */
export class NotFoundError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(status.NOT_FOUND, message, options);
  }
}

/**
 * RESOURCE_EXHAUSTED: a size or count limit was exceeded, or the server is over capacity. With `retryAfterMs`
 * (over capacity: worth retrying) the boundary also sends the standard `grpc-retry-pushback-ms` trailer, which
 * grpc clients with a retry policy honour.
 */
export class ResourceExhaustedError extends ServiceError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { retryAfterMs?: number; cause?: unknown }) {
    super(status.RESOURCE_EXHAUSTED, message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** DEADLINE_EXCEEDED: the caller's deadline passed before the work finished; the work was stopped. */
export class DeadlineExceededError extends ServiceError {
  constructor(message = "deadline exceeded before the work finished; the work was stopped") {
    super(status.DEADLINE_EXCEEDED, message);
  }
}

/** CANCELLED: the caller cancelled the call (or the server is shutting down and cut it off). */
export class CancelledError extends ServiceError {
  constructor(message = "call cancelled") {
    super(status.CANCELLED, message);
  }
}

/** UNAVAILABLE: the service is not ready (model not loaded, shutting down) or a dependency is down; retry. */
export class UnavailableError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(status.UNAVAILABLE, message, options);
  }
}

/** FAILED_PRECONDITION: the request is valid but the system is not in a state to serve it (e.g. wrong model version). */
export class FailedPreconditionError extends ServiceError {
  constructor(message: string) {
    super(status.FAILED_PRECONDITION, message);
  }
}

/** UNAUTHENTICATED: the call carries no valid credentials (no token, an unknown token, no client certificate). */
export class UnauthenticatedError extends ServiceError {
  constructor(message: string) {
    super(status.UNAUTHENTICATED, message);
  }
}

/** PERMISSION_DENIED: the caller is known but none of its roles may call this method. */
export class PermissionDeniedError extends ServiceError {
  constructor(message: string) {
    super(status.PERMISSION_DENIED, message);
  }
}
