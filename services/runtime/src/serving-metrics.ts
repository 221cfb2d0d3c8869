// Prometheus metrics for every gRPC call, labelled by method and model version, exposed over HTTP.
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Histogram, Gauge, Registry, collectDefaultMetrics } from "prom-client";

export class ServingMetrics {
  /** One registry per server, so several servers in one process (tests, embedded mode) do not collide. */
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: "funnel_grpc_requests_total",
    help: "gRPC calls handled, by method, status code and model version.",
    labelNames: ["method", "code", "model_version"] as const,
    registers: [this.registry],
  });

  readonly errors = new Counter({
    name: "funnel_grpc_errors_total",
    help: "gRPC calls that ended with a non-OK status, by method, code and model version.",
    labelNames: ["method", "code", "model_version"] as const,
    registers: [this.registry],
  });

  readonly latency = new Histogram({
    name: "funnel_grpc_request_duration_seconds",
    help: "Wall time from call start to response, by method and model version.",
    labelNames: ["method", "model_version"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly inFlight = new Gauge({
    name: "funnel_grpc_in_flight_requests",
    help: "Calls currently being handled.",
    labelNames: ["method"] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "funnel_" });
  }

  /** Records one finished call. `code` is the gRPC status name, e.g. "OK", "INVALID_ARGUMENT". */
  observe(method: string, code: string, modelVersion: string, seconds: number): void {
    this.requests.inc({ method, code, model_version: modelVersion });
    if (code !== "OK") this.errors.inc({ method, code, model_version: modelVersion });
    this.latency.observe({ method, model_version: modelVersion }, seconds);
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
