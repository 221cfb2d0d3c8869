// The outcome join as an HTML page: hit and conversion rate per version and day (one line per version), the
// comparison table with alerts highlighted, and what was left out and why.
import { escapeHtml, lineChart, type LineSeries } from "../report/svg-charts.js";
import type { OutcomeRun } from "./run-outcomes.js";

const DAY_MS = 86_400_000;

export function renderOutcomeReport(run: OutcomeRun): string {
  const { join, comparison } = run;
  const first = join.byVersionDay.reduce((min, c) => Math.min(min, Date.parse(c.day)), Number.POSITIVE_INFINITY);
  const series = (rate: "hitRate" | "conversionRate"): LineSeries[] =>
    join.byVersion.map((v) => ({
      name: `${v.model} v${v.version}`,
      points: join.byVersionDay.filter((c) => c.model === v.model && c.version === v.version).map((c) => ({ x: (Date.parse(c.day) - first) / DAY_MS, y: c[rate] })),
    }));
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const rows = (cells: string[][]) => cells.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("\n");
  const day0 = Number.isFinite(first) ? new Date(first).toISOString().slice(0, 10) : "—";
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Online accuracy by model version</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}.alert td{background:#fde2e2}</style></head>
<body>
<h1>Online accuracy by model version</h1>
<p>Outcome window ${(join.windowMs / 3_600_000).toFixed(1)} h; events ${join.events.count} (${escapeHtml(join.events.from ?? "—")} … ${escapeHtml(join.events.to ?? "—")}); served records ${run.servedReport.rowsRead} read, ${run.servedReport.rowsRejected} rejected.</p>
${lineChart({ title: "Online hit rate per day", xLabel: `days since ${day0}`, yLabel: "hit rate", series: series("hitRate") })}
${lineChart({ title: "Online conversion rate per day", xLabel: `days since ${day0}`, yLabel: "conversion rate", series: series("conversionRate") })}
<h2>Per version</h2>
<table><tr><th>model</th><th>version</th><th>days</th><th>joined</th><th>hit rate</th><th>conversion rate</th></tr>
${rows(join.byVersion.map((v) => [escapeHtml(v.model), escapeHtml(v.version), String(v.days), String(v.served), pct(v.hitRate), pct(v.conversionRate)]))}</table>
<h2>Against baselines (alert above ${pct(run.options.maxDrop)} drop)</h2>
<table><tr><th>model</th><th>version</th><th>baseline</th><th>expected</th><th>observed</th><th>drop</th></tr>
${comparison.comparisons.map((c) => `<tr${c.alert ? ' class="alert"' : ""}><td>${escapeHtml(c.model)}</td><td>${escapeHtml(c.version)}</td><td>${c.baseline}${c.previousVersion ? ` (v${escapeHtml(c.previousVersion)})` : ""}</td><td>${c.expected.toFixed(4)}</td><td>${c.observed.toFixed(4)}</td><td>${pct(c.drop)}</td></tr>`).join("\n")}</table>
${comparison.skipped.length ? `<p>Not compared: ${comparison.skipped.map((s) => `${escapeHtml(s.model)} v${escapeHtml(s.version)} (${escapeHtml(s.reason)})`).join("; ")}</p>` : ""}
<h2>Per version and day</h2>
<table><tr><th>model</th><th>version</th><th>day</th><th>joined</th><th>hits</th><th>conversions</th><th>hit rate</th><th>conversion rate</th></tr>
${rows(join.byVersionDay.map((c) => [escapeHtml(c.model), escapeHtml(c.version), c.day, String(c.served), String(c.hits), String(c.conversions), pct(c.hitRate), pct(c.conversionRate)]))}</table>
<h2>Left out</h2>
<table><tr><th>reason</th><th>records</th></tr>
${rows(Object.entries(join.excluded).map(([reason, n]) => [escapeHtml(reason), String(n)]))}
<tr><td>malformed served-log lines</td><td>${run.servedReport.rowsRejected}</td></tr>
<tr><td>malformed event rows</td><td>${run.eventsReport.rowsRejected}</td></tr></table>
</body></html>
`;
}
