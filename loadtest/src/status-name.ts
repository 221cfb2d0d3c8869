import { status } from "@grpc/grpc-js";

/**
 * The gRPC status name a failed call ended with ("UNAVAILABLE", "DEADLINE_EXCEEDED", ...), read from the
 * error's numeric `code` as grpc-js sets it. Anything else thrown by a call is "CLIENT_ERROR": the generator
 * never folds a local bug into a server status.
 */
export function statusName(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "number" && typeof status[code] === "string") return status[code] as string;
  return "CLIENT_ERROR";
}
