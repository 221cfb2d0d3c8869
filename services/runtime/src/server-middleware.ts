// Server middleware, as nice-grpc composes it (`server.use(middleware)`, `composeServerMiddleware`), for the
// call shapes this runtime serves (unary and client-streaming): a layer gets the call, its context and the
// next layer, and returns the response (or throws). Logging, metrics, the error boundary, drain/readiness
// and deadlines are layers like any other, so a router can add its own (a variant label, say) without
// editing the server.
import type { CallContext } from "./call-context.js";

/** The method a call is for, fixed per method (one object shared by all its calls). */
export interface MethodInfo {
  /** Full service name, e.g. "funnel.v1.SentimentService". */
  readonly service: string;
  /** Short name used in logs and metrics, e.g. "SentimentService/Analyze". */
  readonly name: string;
  /** gRPC path, e.g. "/funnel.v1.SentimentService/Analyze". */
  readonly path: string;
  /** Client-streaming: `request` is an AsyncIterable of messages. */
  readonly requestStream: boolean;
}

/** One call as middleware sees it. For client-streaming methods `request` is an AsyncIterable of messages. */
export interface ServerCall<Req = unknown> {
  readonly method: MethodInfo;
  readonly request: Req;
}

/** The rest of the chain after a layer (the next layers, then the handler). */
export type CallHandler = (call: ServerCall, ctx: CallContext) => Promise<unknown>;

/**
 * One layer. Calls `next(call, ctx)` to go on (it may pass a different call, e.g. a rewritten request),
 * or throws / returns its own answer to stop the call here. Must return a promise (write it `async`), so
 * that outer layers see a failure as a rejection.
 */
export type ServerMiddleware = (call: ServerCall, ctx: CallContext, next: CallHandler) => Promise<unknown>;

/** `first` wraps `second`: first's code runs before and after second's (nice-grpc's composeServerMiddleware). */
export function composeServerMiddleware(first: ServerMiddleware, ...rest: ServerMiddleware[]): ServerMiddleware {
  return rest.reduce((outer, inner) => (call, ctx, next) => outer(call, ctx, (c, x) => inner(c, x, next)), first);
}

/**
 * Builds the chain for one method once (at start-up), outermost layer first, so that a call allocates no
 * closures to go through it. A layer or handler that throws instead of rejecting is turned into a
 * rejection, so the layers around it still see the failure.
 */
export function chainServerMiddleware(layers: readonly ServerMiddleware[], handler: CallHandler): CallHandler {
  return layers.reduceRight<CallHandler>((next, layer) => rejectingThrows((call, ctx) => layer(call, ctx, next)), rejectingThrows(handler));
}

function rejectingThrows(run: CallHandler): CallHandler {
  return (call, ctx) => {
    try {
      return run(call, ctx);
    } catch (error) {
      return Promise.reject(error);
    }
  };
}
