// The one place where a thrown value becomes a gRPC status. Known errors keep their code and message;
// anything else is logged with its stack and answered with generic text (internals never reach the client).
import { Metadata, status, type StatusObject } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { ResourceExhaustedError, ServiceError } from "./errors.js";

/**
 * Errors from libraries that must not depend on gRPC (the model registry) name their status instead:
 * `grpcStatus: "NOT_FOUND"`. Their messages are written for callers, like ServiceError's.
 */
interface NamesGrpcStatus extends Error {
  grpcStatus: keyof typeof status;
}

function namesGrpcStatus(error: unknown): error is NamesGrpcStatus {
  if (!(error instanceof Error)) return false;
  const name = (error as Partial<NamesGrpcStatus>).grpcStatus;
  return typeof name === "string" && typeof status[name as keyof typeof status] === "number";
}

/**
 * Maps any thrown value to the status sent to the client. Known errors: a ServiceError, or any error whose
 * class declares `grpcStatus` (libraries that do not depend on gRPC, e.g. the registry's errors or the
 * feature encoders' FeatureEncodingError with `grpcStatus = "INVALID_ARGUMENT"`). Their `cause` is logged
 * here and never sent.
 */
export function errorToStatus(error: unknown, log: Logger): StatusObject {
  const code = error instanceof ServiceError ? error.code : namesGrpcStatus(error) ? status[error.grpcStatus] : undefined;
  if (code === undefined || code === status.INTERNAL || code === status.UNKNOWN) {
    log.error({ err: error }, "unhandled error in handler");
    return { code: status.INTERNAL, details: "internal error; the server logged the details", metadata: new Metadata() };
  }
  const known = error as Error;
  if (known.cause !== undefined) log.warn({ err: known, code: status[code] }, `${status[code]}: ${known.message}`);
  const metadata = new Metadata();
  if (error instanceof ResourceExhaustedError && error.retryAfterMs !== undefined) {
    metadata.set("grpc-retry-pushback-ms", String(Math.round(error.retryAfterMs)));
  }
  return { code, details: known.message, metadata };
}
