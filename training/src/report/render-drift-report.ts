import type { DistributionDrift, ModelDrift } from "@funnel/proto";
import { htmlPage } from "./html-page.js";
import { escapeHtml, groupedBarChart } from "./svg-charts.js";

export interface DriftThresholds {
  /** PSI from which a feature is worth watching. */
  watch: number;
  /** PSI from which the feature's population has drifted. */
  drift: number;
}

export type DriftVerdict = "stable" | "watch" | "drift" | "not enough data";

export function driftVerdict(d: Pick<DistributionDrift, "psi" | "psiAvailable">, thresholds: DriftThresholds): DriftVerdict {
  if (!d.psiAvailable) return "not enough data";
  return d.psi >= thresholds.drift ? "drift" : d.psi >= thresholds.watch ? "watch" : "stable";
}

const VERDICT_COLOR: Record<DriftVerdict, string> = { stable: "#59a14f", watch: "#edc948", drift: "#e15759", "not enough data": "#bab0ac" };
const REFERENCE_COLOR = "#4e79a7";
const LIVE_COLOR = "#f28e2b";

/**
 * One self-contained HTML page of drift per model version: a summary table with every feature's PSI coloured
 * by the thresholds, then one chart per feature (reference vs live shares per bin), the most drifted first.
 * Inline SVG and CSS only (no CDN): the same self-contained page as the training report.
 */
export function renderDriftReport(input: { title: string; source: string; models: ModelDrift[]; thresholds: DriftThresholds }): string {
  const { thresholds } = input;
  const sections = input.models.map((m) => {
    const heading = `<h2>${escapeHtml(m.name)}${m.version ? ` version ${escapeHtml(m.version)}` : ""}</h2>`;
    if (!m.available) return `${heading}<p class="muted">Drift unavailable: ${escapeHtml(m.unavailableReason)}</p>`;
    const all = [...m.features, ...(m.prediction ? [m.prediction] : [])];
    const ordered = [...all].sort((a, b) => Number(b.psiAvailable) - Number(a.psiAvailable) || b.psi - a.psi);
    const verdictCell = (d: DistributionDrift) => {
      const verdict = driftVerdict(d, thresholds);
      return `<td style="background:${VERDICT_COLOR[verdict]};text-align:right;font-weight:bold">${d.psiAvailable ? d.psi.toFixed(3) : "–"}</td><td>${verdict}</td>`;
    };
    const rows = ordered.map((d) => `<tr><th><a href="#${anchor(m, d)}">${escapeHtml(d.name)}</a></th>${verdictCell(d)}<td>${d.liveCount}</td><td>${d.referenceCount}</td></tr>`);
    const overall = m.featurePsiAvailable ? m.featurePsi.toFixed(3) : "–";
    const counts = ordered.reduce((c, d) => c.set(driftVerdict(d, thresholds), (c.get(driftVerdict(d, thresholds)) ?? 0) + 1), new Map<DriftVerdict, number>());
    const charts = ordered.map((d) => {
      const verdict = driftVerdict(d, thresholds);
      const chart = groupedBarChart({
        title: `${d.name}: PSI ${d.psiAvailable ? d.psi.toFixed(3) : "n/a"} (${verdict})`,
        yLabel: "share",
        bins: d.bins,
        series: [
          { name: "reference", values: d.reference, color: REFERENCE_COLOR },
          { name: "live", values: d.live, color: LIVE_COLOR },
        ],
        ...(verdict === "drift" || verdict === "watch" ? { border: VERDICT_COLOR[verdict] } : {}),
      });
      return `<figure id="${anchor(m, d)}" style="margin:0">${chart}</figure>`;
    });
    return [
      heading,
      `<p>Mean feature PSI <strong>${overall}</strong> · prediction PSI <strong>${m.prediction?.psiAvailable ? m.prediction.psi.toFixed(3) : "–"}</strong> · ` +
        `${m.observations} rows observed, ${m.windowRows} in the window · ` +
        `${counts.get("drift") ?? 0} drifted, ${counts.get("watch") ?? 0} to watch, ${counts.get("stable") ?? 0} stable` +
        `${counts.get("not enough data") ? `, ${counts.get("not enough data")} with fewer than ${m.minObservations} live counts` : ""}</p>`,
      `<table><thead><tr><th>feature</th><th>PSI</th><th>verdict</th><th>live count</th><th>reference count</th></tr></thead><tbody>${rows.join("")}</tbody></table>`,
      `<div class="pair">${charts.join("")}</div>`,
    ].join("\n");
  });
  const intro = `<p class="muted">${escapeHtml(input.source)} · PSI = Σ (live − reference) · ln(live / reference) over bin shares, an empty bin counted as 0.0001 · watch from ${thresholds.watch}, drift from ${thresholds.drift}</p>`;
  return htmlPage(input.title, [intro, ...sections].join("\n"));
}

function anchor(m: ModelDrift, d: DistributionDrift): string {
  return `${m.name}-${m.version}-${d.name}`.replace(/[^A-Za-z0-9_-]/g, "-");
}
