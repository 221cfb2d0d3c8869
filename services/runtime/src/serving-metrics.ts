// Prometheus metrics for every gRPC call, labelled by method, code, model version and any label a layer
// adds, exposed over HTTP.
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from "prom-client";
import { modelVersionKey, type ContextKey, type ContextValues } from "./context-values.js";

/** A call-metrics label whose value a layer or handler sets per call through a context key. */
export interface CallMetricLabel {
  /** Prometheus label name, e.g. "variant". */
  readonly name: string;
  readonly key: ContextKey<string>;
}

/** One label-value combination of the per-call metrics. */
interface CallSeries {
  readonly labels: Record<string, string>;
  readonly code: string;
  calls: number;
  readonly latency: LatencySeries;
}

interface CallMetrics {
  requests: Counter<string>;
  errors: Counter<string>;
  latency: CallLatencyHistogram;
  series: Map<string, CallSeries>;
}

interface LatencySeries {
  readonly labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last slot is above the highest bound. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * The call latency histogram, kept in plain arrays and rendered by the registry when /metrics is scraped
 * (prom-client's Histogram builds and validates a label key on every observation, which showed in the
 * per-call profile). Same exposition as a prom-client Histogram: cumulative `_bucket{le}`, `_sum`, `_count`.
 */
class CallLatencyHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly series = new Map<string, LatencySeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upperBounds: readonly number[],
  ) {}

  seriesFor(key: string, labels: Record<string, string>): LatencySeries {
    let series = this.series.get(key);
    if (!series) {
      series = { labels, buckets: new Float64Array(this.upperBounds.length + 1), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    return series;
  }

  observe(series: LatencySeries, seconds: number): void {
    let i = 0;
    while (i < this.upperBounds.length && seconds > this.upperBounds[i]!) i++;
    series.buckets[i]!++;
    series.sum += seconds;
    series.count++;
  }

  /** The registry's read (text and JSON exposition). */
  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const { labels, buckets, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += buckets[i]!;
        values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...labels, le: "+Inf" }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const series of this.series.values()) {
      series.buckets.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}

// Calls are counted in plain numbers and handed to prom-client when /metrics is scraped (its `collect`
// hook): a labelled prom-client update builds and validates a label key on every call, which showed in the
// per-call profile.
export class ServingMetrics {
  /** One registry per server, so several servers in one process (tests, embedded mode) do not collide. */
  readonly registry = new Registry();

  private readonly labels: CallMetricLabel[] = [{ name: "model_version", key: modelVersionKey }];
  private callMetrics: CallMetrics | undefined;
  private readonly inFlightByMethod = new Map<string, { value: number }>();

  readonly inFlight: Gauge<"method">;
  /** 1 while a service answers SERVING on grpc.health.v1, 0 while NOT_SERVING (loading, draining). */
  private readonly serving: Gauge<"service">;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const inFlightByMethod = this.inFlightByMethod;
    this.inFlight = new Gauge({
      name: "funnel_grpc_in_flight_requests",
      help: "Calls currently being handled.",
      labelNames: ["method"] as const,
      registers: [this.registry],
      collect() {
        for (const [method, count] of inFlightByMethod) this.set({ method }, count.value);
      },
    });
    this.serving = new Gauge({
      name: "funnel_service_serving",
      help: "1 while the service reports SERVING on grpc.health.v1, 0 while NOT_SERVING (models loading or refused at start, draining on shutdown).",
      labelNames: ["service"] as const,
      registers: [this.registry],
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "funnel_" });
  }

  /**
   * Adds a label to the per-call metrics (calls, errors, latency), read from `key` when each call ends,
   * e.g. a router's variant. Prometheus fixes a metric's labels when it is created, so labels are added
   * before the first call (before the server starts).
   */
  addLabel(name: string, key: ContextKey<string>): void {
    if (this.callMetrics) throw new Error(`metric label "${name}" added after the call metrics were created; add labels before start()`);
    if (name === "method" || name === "code" || this.labels.some((l) => l.name === name)) throw new Error(`metric label "${name}" already exists`);
    this.labels.push({ name, key });
  }

  /** Creates the per-call metrics now (the server does at start), so a label added later fails loudly. */
  fixLabels(): void {
    this.created();
  }

  private created(): CallMetrics {
    if (this.callMetrics) return this.callMetrics;
    const extra = this.labels.map((l) => l.name);
    const series = new Map<string, CallSeries>();
    this.callMetrics = {
      requests: new Counter({
        name: "funnel_grpc_requests_total",
        help: `gRPC calls handled, by method, status code, ${extra.join(", ")}.`,
        labelNames: ["method", "code", ...extra],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const s of series.values()) this.inc(s.labels, s.calls);
        },
      }),
      errors: new Counter({
        name: "funnel_grpc_errors_total",
        help: `gRPC calls that ended with a non-OK status, by method, code, ${extra.join(", ")}.`,
        labelNames: ["method", "code", ...extra],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const s of series.values()) if (s.code !== "OK") this.inc(s.labels, s.calls);
        },
      }),
      latency: new CallLatencyHistogram(
        "funnel_grpc_request_duration_seconds",
        `Wall time from call start to response, by method, ${extra.join(", ")}.`,
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      ),
      series,
    };
    this.registry.registerMetric(this.callMetrics.latency as unknown as Metric);
    return this.callMetrics;
  }

  /** Records a service's health status (the server calls this whenever it publishes health). */
  setServing(service: string, serving: boolean): void {
    this.serving.set({ service }, serving ? 1 : 0);
  }

  /** The in-flight count of one method: the caller adds 1 when a call starts and takes it off when it ends. */
  inFlightFor(method: string): { value: number } {
    let count = this.inFlightByMethod.get(method);
    if (!count) {
      count = { value: 0 };
      this.inFlightByMethod.set(method, count);
    }
    return count;
  }

  /** Records one finished call. `code` is the gRPC status name, e.g. "OK", "INVALID_ARGUMENT". */
  observe(method: string, code: string, values: ContextValues, seconds: number): void {
    const metrics = this.created();
    let key = `${method}\u0000${code}`;
    for (const label of this.labels) key += `\u0000${values.get(label.key)}`;
    let series = metrics.series.get(key);
    if (!series) {
      const labels: Record<string, string> = {};
      for (const label of this.labels) labels[label.name] = values.get(label.key);
      // The latency series leaves out the code: all outcomes of one method and label set share it.
      const latencyKey = key.slice(0, method.length) + key.slice(method.length + 1 + code.length);
      series = { labels: { method, code, ...labels }, code, calls: 0, latency: metrics.latency.seriesFor(latencyKey, { method, ...labels }) };
      metrics.series.set(key, series);
    }
    series.calls++;
    metrics.latency.observe(series.latency, seconds);
  }

  /** Serves GET /metrics on host:port (0 = free port). Resolves with the bound port. */
  async listen(host: string, port: number): Promise<{ port: number; close: () => Promise<void> }> {
    const server: HttpServer = createServer((req, res) => {
      if (req.method === "GET" && req.url?.split("?")[0] === "/metrics") {
        this.registry
          .metrics()
          .then((body) => {
            res.writeHead(200, { "content-type": this.registry.contentType });
            res.end(body);
          })
          .catch((error: unknown) => {
            res.writeHead(500).end(String(error));
          });
        return;
      }
      res.writeHead(404, { "content-type": "text/plain" }).end("metrics are served at GET /metrics\n");
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, resolve);
    });
    return {
      port: (server.address() as AddressInfo).port,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
}
