import { htmlPage } from "../report/html-page.js";
import { escapeHtml } from "../report/svg-charts.js";
import type { RetrainReport } from "./run-retrain.js";

const METRICS = ["recall@5", "recall@10", "recall@20", "map@10", "ndcg@10"] as const;

/** The retrain run as one page: verdict, the gate table (figure and bound of each), and both versions' metrics. */
export function renderRetrainReport(report: RetrainReport): string {
  const sections: string[] = [];
  const verdict = report.passed
    ? `<p class="good">All gates passed: published as version ${report.candidate.published?.version}, alias "${escapeHtml(report.candidate.published?.alias ?? "")}" moved to it.</p>`
    : `<p class="bad">Gates failed: nothing was published.</p>`;
  sections.push(verdict);
  const w = report.window;
  sections.push(
    `<p>Window ${escapeHtml(w.since ?? "start")} – ${escapeHtml(w.until ?? "end")}: <strong>${w.events}</strong> events of ${w.users} users ` +
      `(${w.eventsOutsideWindow} outside the window); candidate trained on ${w.trainEvents}, both versions scored on the latest ${w.holdoutEvents}. ` +
      `Production: ${report.production ? `version ${report.production.version}` : "none"}.${report.breakingChange ? ` Declared breaking change: ${escapeHtml(report.breakingChange)}.` : ""}</p>`,
  );
  sections.push("<h2>Gates</h2>");
  const rows = report.gates.map(
    (g) =>
      `<tr><th>${escapeHtml(g.gate)}</th><td class="${g.status === "pass" ? "good" : g.status === "fail" ? "bad" : "muted"}">${g.status}</td>` +
      `<td>${g.value === null ? "—" : escapeHtml(formatValue(g.value))}</td><td>${escapeHtml(g.threshold)}</td><td>${escapeHtml(g.detail)}</td></tr>`,
  );
  sections.push(`<table><thead><tr><th>gate</th><th>result</th><th>figure</th><th>bound</th><th>detail</th></tr></thead><tbody>${rows.join("")}</tbody></table>`);

  sections.push("<h2>Both versions on the fresh holdout</h2>");
  const { candidate, production } = report.evaluation;
  const cell = (e: typeof candidate | null, key: (typeof METRICS)[number]) => (e === null ? "—" : "error" in e ? "error" : e.model[key].toFixed(4));
  const metricRows = METRICS.map((k) => `<tr><th>${k}</th><td>${cell(candidate, k)}</td><td>${cell(production, k)}</td><td>${"error" in candidate ? "—" : candidate.baselines.popularity[k].toFixed(4)}</td></tr>`);
  sections.push(
    `<table><thead><tr><th>metric</th><th>candidate</th><th>production</th><th>popularity</th></tr></thead><tbody>${metricRows.join("")}</tbody></table>`,
  );
  for (const [name, e] of [["candidate", candidate], ["production", production]] as const) {
    if (e && "error" in e) sections.push(`<p class="bad">${name} could not be evaluated: ${escapeHtml(e.error)}</p>`);
  }
  return htmlPage(`Retrain of ${report.model}: ${report.passed ? "passed" : "failed"}`, sections.join("\n"));
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(4);
}
