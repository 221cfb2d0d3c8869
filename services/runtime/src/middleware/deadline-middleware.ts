// Deadlines as a layer: when the caller's deadline passes the call is stopped (ctx.signal aborts,
// throwIfStopped throws) and DEADLINE_EXCEEDED goes out at once, even if the handler has not yet reached a
// check point; whatever it returns later is dropped.
import { DeadlineExceededError } from "../errors.js";
import type { ServerMiddleware } from "../server-middleware.js";

export const deadlineMiddleware: ServerMiddleware = (call, ctx, next) => {
  if (!ctx.deadline) return next(call, ctx);
  const remaining = ctx.deadline.getTime() - Date.now();
  if (remaining <= 0) {
    const expired = new DeadlineExceededError();
    ctx.abort(expired);
    return Promise.reject(expired);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const expired = new DeadlineExceededError();
      ctx.abort(expired);
      reject(expired);
    }, remaining);
    next(call, ctx).then(
      (response) => {
        clearTimeout(timer);
        resolve(response);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
};
