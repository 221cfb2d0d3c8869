// The join's figures as Prometheus gauges: a text file for node-exporter's textfile collector (written next to
// its final name and renamed, so the collector never reads half a file), or pushed to a Pushgateway (the
// outcomes CronJob in k8s/: a Job pod lives too briefly to be scraped).
import { rename, writeFile } from "node:fs/promises";
import { Gauge, Pushgateway, Registry } from "prom-client";
import type { OutcomeAlerts } from "./outcome-alerts.js";
import type { OutcomeJoin } from "./join-outcomes.js";

/** Metric names written, for the alert rules and the dashboard check in k8s/. */
export const OUTCOME_METRICS = {
  hitRate: "funnel_online_hit_rate",
  conversionRate: "funnel_online_conversion_rate",
  served: "funnel_online_joined_recommendations",
  drop: "funnel_online_accuracy_drop",
  excluded: "funnel_outcome_join_excluded_records",
  badRows: "funnel_outcome_join_bad_rows",
  lastRun: "funnel_outcome_join_timestamp_seconds",
} as const;

export function outcomeMetricsRegistry(join: OutcomeJoin, alerts: OutcomeAlerts, badRows: { served: number; events: number }, now = new Date()): Registry {
  const registry = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: L[]) => new Gauge<L>({ name, help, labelNames, registers: [registry] });
  const version = ["model", "version"] as ("model" | "version")[];
  const hitRate = gauge(OUTCOME_METRICS.hitRate, "Share of served recommendations followed by an interaction with a recommended item within the outcome window (npm run outcomes).", version);
  const conversionRate = gauge(OUTCOME_METRICS.conversionRate, "Share of served recommendations followed by a purchase of a recommended item within the outcome window.", version);
  const served = gauge(OUTCOME_METRICS.served, "Served recommendations joined to outcomes (the rates' denominator).", version);
  const drop = gauge(OUTCOME_METRICS.drop, "Relative drop of a version's online figure below a baseline: (expected - observed) / expected; baseline offline_recall, previous_hit_rate or previous_conversion_rate.", [...version, "baseline"]);
  const excluded = gauge(OUTCOME_METRICS.excluded, "Well-formed served records left out of the rates, by reason.", ["reason"]);
  const bad = gauge(OUTCOME_METRICS.badRows, "Rows rejected as malformed in the last join, by input (served log, events).", ["input"]);
  const lastRun = gauge(OUTCOME_METRICS.lastRun, "When the outcome join last ran (unix seconds).", []);
  for (const v of join.byVersion) {
    hitRate.set({ model: v.model, version: v.version }, v.hitRate);
    conversionRate.set({ model: v.model, version: v.version }, v.conversionRate);
    served.set({ model: v.model, version: v.version }, v.served);
  }
  for (const c of alerts.comparisons) drop.set({ model: c.model, version: c.version, baseline: c.baseline }, c.drop);
  for (const [reason, count] of Object.entries(join.excluded)) excluded.set({ reason }, count);
  bad.set({ input: "served" }, badRows.served);
  bad.set({ input: "events" }, badRows.events);
  lastRun.set(now.getTime() / 1000);
  return registry;
}

export function outcomeMetricsText(join: OutcomeJoin, alerts: OutcomeAlerts, badRows: { served: number; events: number }, now = new Date()): Promise<string> {
  return outcomeMetricsRegistry(join, alerts, badRows, now).metrics();
}

/** The Pushgateway job the gauges are grouped under (its alert rules and dashboard need no `job` label). */
export const OUTCOME_PUSH_JOB = "funnel-outcomes";

/**
 * Replaces the group's gauges on a Pushgateway (PUT): a version that left the join drops out rather than
 * keeping its last figure. `groupings` separate several pushers (e.g. namespace=prod and namespace=dev).
 */
export async function pushOutcomeMetrics(url: string, registry: Registry, groupings: Record<string, string>): Promise<void> {
  // prom-client rejects on HTTP >= 400 with the gateway's answer in the message.
  await new Pushgateway(url, { timeout: 30_000 }, registry).push({ jobName: OUTCOME_PUSH_JOB, groupings });
}

export async function writeTextfile(file: string, text: string): Promise<void> {
  const partial = `${file}.${process.pid}.tmp`;
  await writeFile(partial, text);
  await rename(partial, file);
}
