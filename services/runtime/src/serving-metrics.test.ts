import { describe, expect, it } from "vitest";
import { ContextValues, createContextKey, modelVersionKey } from "./context-values.js";
import { ServingMetrics } from "./serving-metrics.js";

describe("ServingMetrics", () => {
  it("exposes calls, errors and a cumulative latency histogram per label set", async () => {
    const metrics = new ServingMetrics({ defaultMetrics: false });
    const values = new ContextValues().set(modelVersionKey, "v2");
    metrics.observe("S/M", "OK", values, 0.0003);
    metrics.observe("S/M", "OK", values, 0.002);
    metrics.observe("S/M", "NOT_FOUND", values, 20);
    const text = await metrics.registry.metrics();
    const line = (name: string) => text.split("\n").find((l) => l.startsWith(name))?.split(" ").pop();
    expect(line('funnel_grpc_requests_total{method="S/M",code="OK",model_version="v2"}')).toBe("2");
    expect(line('funnel_grpc_requests_total{method="S/M",code="NOT_FOUND",model_version="v2"}')).toBe("1");
    expect(line('funnel_grpc_errors_total{method="S/M",code="NOT_FOUND",model_version="v2"}')).toBe("1");
    expect(text).not.toContain('funnel_grpc_errors_total{method="S/M",code="OK"');
    const bucket = (le: string) => line(`funnel_grpc_request_duration_seconds_bucket{method="S/M",model_version="v2",le="${le}"}`);
    expect([bucket("0.0005"), bucket("0.001"), bucket("0.0025"), bucket("10"), bucket("+Inf")]).toEqual(["1", "1", "2", "2", "3"]);
    expect(Number(line('funnel_grpc_request_duration_seconds_sum{method="S/M",model_version="v2"}'))).toBeCloseTo(20.0023, 6);
    expect(line('funnel_grpc_request_duration_seconds_count{method="S/M",model_version="v2"}')).toBe("3");
    expect(text).toContain("# TYPE funnel_grpc_request_duration_seconds histogram");
  });

  it("counts calls in flight per method", async () => {
    const metrics = new ServingMetrics({ defaultMetrics: false });
    metrics.inFlightFor("S/A").value += 2;
    metrics.inFlightFor("S/B").value += 1;
    metrics.inFlightFor("S/A").value -= 1;
    const text = await metrics.registry.metrics();
    expect(text).toContain('funnel_grpc_in_flight_requests{method="S/A"} 1');
    expect(text).toContain('funnel_grpc_in_flight_requests{method="S/B"} 1');
  });

  it("refuses a label added once the call metrics exist, and a duplicate label", () => {
    const metrics = new ServingMetrics({ defaultMetrics: false });
    const key = createContextKey("none");
    expect(() => metrics.addLabel("model_version", key)).toThrow(/already exists/);
    metrics.addLabel("variant", key);
    metrics.fixLabels();
    expect(() => metrics.addLabel("region", key)).toThrow(/before start/);
  });
});
