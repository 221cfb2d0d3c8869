// Per-call Prometheus metrics as a layer: calls, errors and latency by method, status code and the labels
// declared on ServingMetrics (model version, and whatever other layers add), plus calls in flight.
import type { ServerMiddleware } from "../server-middleware.js";
import type { ServingMetrics } from "../serving-metrics.js";
import { statusNameOf } from "./error-boundary-middleware.js";

export function metricsMiddleware(metrics: ServingMetrics): ServerMiddleware {
  return async (call, ctx, next) => {
    const started = performance.now();
    const inFlight = metrics.inFlightFor(call.method.name);
    inFlight.value++;
    let code = "OK";
    try {
      return await next(call, ctx);
    } catch (error) {
      code = statusNameOf(error);
      throw error;
    } finally {
      inFlight.value--;
      metrics.observe(call.method.name, code, ctx.values, (performance.now() - started) / 1000);
    }
  };
}
