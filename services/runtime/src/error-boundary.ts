// The one place where a thrown value becomes a gRPC status. Known ServiceErrors keep their code and message;
// anything else is logged with its stack and answered with generic text (internals never reach the client).
import { Metadata, status, type StatusObject } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { ServiceError } from "./errors.js";

export function errorToStatus(error: unknown, log: Logger): StatusObject {
  if (error instanceof ServiceError) {
    if (error.code === status.INTERNAL || error.code === status.UNKNOWN) log.error({ err: error }, "internal service error");
    return { code: error.code, details: error.message, metadata: new Metadata() };
  }
  log.error({ err: error }, "unhandled error in handler");
  return { code: status.INTERNAL, details: "internal error; the server logged the details", metadata: new Metadata() };
}
