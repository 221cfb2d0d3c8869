// The alert rules and the Grafana dashboard name only metrics that exist: every PromQL expression parses with
// Prometheus' grammar, and every metric it selects is on the /metrics page of the real services (all four
// started in one process on a tiny registered model, the served-recommendation log on, a few calls made) or
// in the outcome join's textfile, or is an external metric listed below. Each alert has a summary, a
// description and a runbook section in k8s/README.md.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { RecommendationServiceClient } from "@funnel/proto";
import { embeddedModules } from "@funnel/platform";
import { FileRegistry } from "@funnel/registry";
import { runServices, type RunningServices } from "@funnel/runtime";
import { joinOutcomes, outcomeAlerts, outcomeMetricsText } from "@funnel/training/outcomes";
import { tinyModelDataset, trainTinyModelDirectory } from "@funnel/training/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyseQuery, exposedMetricNames, queriesOf, readMonitoringFiles } from "./monitoring-queries.js";
import { findKubectl, renderOverlay } from "./render-overlay.js";

const k8sRoot = fileURLToPath(new URL("..", import.meta.url));
const files = readMonitoringFiles(path.join(k8sRoot, "components", "monitoring"));
const queries = queriesOf(files);

/** Exported by cAdvisor (kubelet) and kube-state-metrics, not by this code. */
const EXTERNAL_METRICS = new Set(["container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "kube_pod_container_resource_limits"]);

const SALT = "monitoring-test-salt";
let root: string;
let running: RunningServices;
let scraped: Set<string>;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "monitoring-metrics-"));
  const registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "test" });
  await trainTinyModelDirectory(path.join(root, "model"), { seed: 1, salt: SALT });
  await registry.register(path.join(root, "model"));
  await registry.setAlias("two-tower", "production", 1);
  running = await runServices(embeddedModules, {
    env: { FUNNEL_PSEUDONYM_SALT: SALT },
    argv: [
      ...["--port", "0", "--metrics-port", "0", "--log-level", "silent", "--model-cache-dir", path.join(root, "cache"), "--model-poll-ms", "0"],
      ...["--recommendation-served-log-dir", path.join(root, "served"), "--recommendation-served-log-sample-rate", "1"],
    ],
    modelSource: registry,
  });
  // A few calls so per-call series exist as samples too, not only as declarations.
  const client = new RecommendationServiceClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
  const userId = tinyModelDataset({}).events[0]!.userId;
  for (const topK of [3, 101]) await new Promise<void>((resolve) => client.recommendItems({ userId, topK, excludeItemIds: [] }, () => resolve()));
  client.close();
  const page = await (await fetch(`http://127.0.0.1:${running.metricsPort}/metrics`)).text();
  const outcomes = joinOutcomes([], [], { windowMs: 86_400_000 });
  const textfile = await outcomeMetricsText(outcomes, outcomeAlerts(outcomes.byVersion, new Map(), { maxDrop: 0.2, minServed: 1, offlineMetric: "recall@10" }), { served: 0, events: 0 });
  scraped = new Set([...exposedMetricNames(page), ...exposedMetricNames(textfile)]);
}, 180_000);

afterAll(async () => {
  await running?.shutdown();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("alert rules and dashboard", () => {
  it("have queries to check: every alert and every panel", () => {
    expect(files.rules.length).toBeGreaterThanOrEqual(10);
    expect(files.dashboard.panels.filter((p) => p.type !== "row").every((p) => (p.targets ?? []).length > 0)).toBe(true);
    expect(queries.length).toBeGreaterThan(files.rules.length + 20);
  });

  it("every PromQL expression parses with Prometheus' grammar", () => {
    const errors = queries.flatMap((q) => analyseQuery(q.expr).errors.map((e) => `${q.where}: ${e}`));
    expect(errors).toEqual([]);
    // The parser does catch a broken expression (the check cannot pass on everything).
    expect(analyseQuery("sum(rate(funnel_grpc_requests_total[5m])").errors).not.toEqual([]);
  });

  it("every metric they name is exported by the running services or the outcome join, or is a listed external metric", () => {
    const missing: string[] = [];
    for (const q of queries) {
      for (const metric of analyseQuery(q.expr).metrics) {
        if (scraped.has(metric) || EXTERNAL_METRICS.has(metric)) continue;
        missing.push(`${q.where}: ${metric}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("the scrape is real: it shows the per-call, readiness, model-slot, drift, served-log and outcome metrics", () => {
    const names = ["funnel_grpc_requests_total", "funnel_grpc_request_duration_seconds_bucket", "funnel_service_serving", "funnel_model_loads_total", "funnel_model_feature_psi", "funnel_drift_observations_total", "funnel_log_records_total", "funnel_online_hit_rate"];
    for (const name of names) {
      expect(scraped, name).toContain(name);
    }
    expect(scraped).not.toContain("funnel_no_such_metric");
  });

  it("the external list holds only cAdvisor and kube-state-metrics names the code does not export", () => {
    for (const name of EXTERNAL_METRICS) {
      expect(name).toMatch(/^(container|kube)_/);
      expect(scraped).not.toContain(name);
    }
  });

  it("every alert has a severity, a summary, a description and a runbook section in k8s/README.md", async () => {
    const readme = await readFile(path.join(k8sRoot, "README.md"), "utf8");
    const headings = new Set([...readme.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase()));
    const problems: string[] = [];
    for (const rule of files.rules) {
      const a = rule.annotations ?? {};
      if (!["warning", "critical"].includes(rule.labels?.severity ?? "")) problems.push(`${rule.alert}: severity label must be warning or critical`);
      if (!a.summary) problems.push(`${rule.alert}: no summary annotation`);
      if (!a.description) problems.push(`${rule.alert}: no description annotation`);
      if (a.runbook_url !== `k8s/README.md#${rule.alert.toLowerCase()}`) problems.push(`${rule.alert}: runbook_url must be k8s/README.md#${rule.alert.toLowerCase()}`);
      if (!headings.has(rule.alert.toLowerCase())) problems.push(`${rule.alert}: no "### ${rule.alert}" section in k8s/README.md`);
    }
    expect(problems).toEqual([]);
    expect(new Set(files.rules.map((r) => r.alert)).size).toBe(files.rules.length);
  });

  it("the dashboard has per-service and per-version panels and a datasource variable", () => {
    const exprs = files.dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.some((e) => /by \(app[,)]/.test(e))).toBe(true);
    expect(exprs.some((e) => /by \([^)]*model_version/.test(e))).toBe(true);
    expect(exprs.some((e) => /by \(model, version/.test(e))).toBe(true);
    expect(files.dashboard.templating.list.map((v) => v.name)).toEqual(expect.arrayContaining(["datasource", "namespace", "app", "model_version"]));
  });
});

describe.skipIf(!findKubectl())("monitoring in the rendered overlays", () => {
  it("prod and dev carry the rules, the PodMonitor and the dashboard ConfigMap the Grafana sidecar picks up", async () => {
    const dashboardJson = await readFile(path.join(k8sRoot, "components", "monitoring", "dashboards", "funnel-serving.json"), "utf8");
    for (const overlay of ["dev", "prod", "prod-canary"]) {
      const resources = renderOverlay(path.join(k8sRoot, "overlays", overlay));
      const kinds = resources.map((r) => r.kind);
      expect(kinds.filter((k) => k === "PrometheusRule"), overlay).toHaveLength(1);
      expect(kinds.filter((k) => k === "PodMonitor"), overlay).toHaveLength(1);
      const dashboards = resources.filter((r) => r.kind === "ConfigMap" && r.metadata.labels?.grafana_dashboard === "1") as unknown as { data: Record<string, string> }[];
      expect(dashboards).toHaveLength(1);
      expect(dashboards[0]!.data["funnel-serving.json"]).toBe(dashboardJson);
    }
  }, 60_000);
});
