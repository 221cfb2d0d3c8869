// One middleware layer for caller security: authentication and per-method authorization (when on), then the
// caller's rate and concurrency limits (keyed by caller name, or by peer address without authentication).
import { createContextKey } from "../context-values.js";
import type { CallContext } from "../call-context.js";
import type { ServerMiddleware } from "../server-middleware.js";
import type { Caller } from "./callers-file.js";
import type { CallerAuthenticator } from "./caller-authenticator.js";
import type { CallerLimits } from "./caller-limits.js";

/** The authenticated caller of the call (undefined when authentication is off). */
export const callerKey = createContextKey<Caller | undefined>(undefined, { description: "caller" });

export function securityMiddleware(auth: CallerAuthenticator | undefined, limits: CallerLimits | undefined): ServerMiddleware {
  const limited = limits?.enabled ? limits : undefined;
  return async (call, ctx, next) => {
    let key: string | undefined;
    if (auth) {
      let caller: Caller;
      try {
        caller = auth.identify(ctx.metadata, ctx.peerCertificate);
        auth.authorize(caller, call.method.name);
      } catch (error) {
        // Refusals are worth a line (someone is knocking); the message names no token.
        ctx.log.info({ peer: ctx.peer, reason: (error as Error).message }, "call refused");
        throw error;
      }
      ctx.values.set(callerKey, caller);
      ctx.addLogBindings({ caller: caller.name });
      key = caller.name;
    }
    if (!limited) return next(call, ctx);
    const release = limited.acquire(key ?? peerHost(ctx));
    try {
      return await next(call, ctx);
    } finally {
      release();
    }
  };
}

/** "ipv4:10.0.0.7:51234" or "10.0.0.7:51234" → "10.0.0.7": a caller without authentication is its host. */
function peerHost(ctx: CallContext): string {
  const peer = ctx.peer.replace(/^ipv[46]:/, "");
  const colon = peer.lastIndexOf(":");
  return colon > 0 ? peer.slice(0, colon).replace(/^\[|\]$/g, "") : peer || "unknown";
}
