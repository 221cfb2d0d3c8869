// The PromQL of the alert rules and the Grafana dashboard in k8s/components/monitoring: read from the files,
// parsed with Prometheus' own lezer grammar (@prometheus-io/lezer-promql, what the Prometheus UI uses), and
// the metric names every expression selects.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parser } from "@prometheus-io/lezer-promql";
import { parse } from "yaml";

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** One PromQL expression and where it comes from, for messages. */
export interface Query {
  where: string;
  expr: string;
}

export interface MonitoringFiles {
  rules: AlertRule[];
  dashboard: { title: string; panels: DashboardPanel[]; templating: { list: { name: string; type: string; query?: string | { query: string } }[] } };
}

interface DashboardPanel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

export function readMonitoringFiles(componentDir: string): MonitoringFiles {
  const rule = parse(readFileSync(path.join(componentDir, "prometheus-rule.yaml"), "utf8")) as { spec: { groups: { rules: AlertRule[] }[] } };
  const dashboard = JSON.parse(readFileSync(path.join(componentDir, "dashboards", "funnel-serving.json"), "utf8")) as MonitoringFiles["dashboard"];
  return { rules: rule.spec.groups.flatMap((g) => g.rules), dashboard };
}

/**
 * Every expression of the rules and the dashboard. Grafana's variables are replaced by values of the same
 * kind first (`$__rate_interval` by a duration, `$x` inside strings stays: it is a string there), and its
 * `label_values(<selector>, label)` variable queries are checked by their selector.
 */
export function queriesOf(files: MonitoringFiles): Query[] {
  const queries: Query[] = files.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }));
  for (const panel of files.dashboard.panels) {
    for (const [i, target] of (panel.targets ?? []).entries()) {
      queries.push({ where: `panel "${panel.title}" target ${i}`, expr: target.expr.replaceAll("$__rate_interval", "5m") });
    }
  }
  for (const variable of files.dashboard.templating.list) {
    if (variable.type !== "query") continue;
    const query = typeof variable.query === "string" ? variable.query : (variable.query?.query ?? "");
    const selector = /^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/.exec(query)?.[1];
    queries.push({ where: `dashboard variable ${variable.name}`, expr: selector ?? query });
  }
  return queries;
}

/** Syntax errors (position and the text around it) and the metric names the expression selects. */
export function analyseQuery(expr: string): { errors: string[]; metrics: string[] } {
  const errors: string[] = [];
  const metrics = new Set<string>();
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) errors.push(`syntax error at ${node.from}: …${expr.slice(Math.max(0, node.from - 20), node.from + 20)}…`);
      if (node.name === "Identifier" && node.node.parent?.name === "VectorSelector") metrics.add(expr.slice(node.from, node.to));
      if (node.name === "UnquotedLabelMatcher" && expr.slice(node.from, node.to).startsWith("__name__")) {
        errors.push("selects a metric by __name__: name it directly so the metric check can see it");
      }
    },
  });
  return { errors, metrics: [...metrics] };
}

/**
 * Metric names a Prometheus text exposition offers for queries: each sample's name, and for every declared
 * histogram or summary its series names (a histogram with no observation yet still has a TYPE line).
 */
export function exposedMetricNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      names.add(name!);
      if (kind === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${name}${suffix}`);
      if (kind === "summary") for (const suffix of ["_sum", "_count"]) names.add(`${name}${suffix}`);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample && !line.startsWith("#")) names.add(sample[1]!);
  }
  return names;
}
