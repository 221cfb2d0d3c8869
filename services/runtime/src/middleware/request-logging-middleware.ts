// Request id and call logging: the id (the caller's `x-request-id`, or a new one) goes on every log line of
// the call and back to the caller in trailing metadata, whatever the outcome.
import { randomBytes } from "node:crypto";
import { requestIdKey } from "../context-values.js";
import type { CallContext } from "../call-context.js";
import type { CallHandler, ServerCall, ServerMiddleware } from "../server-middleware.js";
import { statusNameOf } from "./error-boundary-middleware.js";

export const REQUEST_ID_HEADER = "x-request-id";

/** What a caller-supplied id may look like: visible ASCII, bounded, so it is safe in logs and headers. */
const ACCEPTABLE_ID = /^[\x21-\x7e]{1,128}$/;

// Generated ids are a random per-process prefix and a counter: unique across processes like a UUID, but
// without a crypto call per request (randomUUID showed in the per-call profile).
const ID_PREFIX = randomBytes(9).toString("base64url");
let generated = 0;

function newRequestId(): string {
  return `${ID_PREFIX}-${(++generated).toString(36)}`;
}

export const requestLoggingMiddleware: ServerMiddleware = (call, ctx, next) => {
  const given = ctx.metadata.get(REQUEST_ID_HEADER)[0];
  const requestId = typeof given === "string" && ACCEPTABLE_ID.test(given) ? given : newRequestId();
  ctx.values.set(requestIdKey, requestId);
  ctx.addLogBindings({ requestId });
  ctx.trailer.set(REQUEST_ID_HEADER, requestId);
  // The per-call line is debug: at info the hot path neither times nor serialises anything for it, and
  // adds no promise of its own.
  return ctx.isLogLevelEnabled("debug") ? logFinished(call, ctx, next) : next(call, ctx);
};

async function logFinished(call: ServerCall, ctx: CallContext, next: CallHandler): Promise<unknown> {
  const started = performance.now();
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    const response = await next(call, ctx);
    ctx.log.debug({ code: "OK", ms: ms() }, "call finished");
    return response;
  } catch (error) {
    ctx.log.debug({ code: statusNameOf(error), ms: ms() }, "call finished");
    throw error;
  }
}
