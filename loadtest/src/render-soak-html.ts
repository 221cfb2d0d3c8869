// The soak's chart: memory (RSS, V8 heap in use) and throughput over time, as one self-contained HTML file
// with inline SVG (no script, no CDN), so it opens anywhere and can be attached to an issue.
import type { SoakReport, SoakSample } from "./run-soak.js";

const MIB = 1024 * 1024;
const WIDTH = 760;
const HEIGHT = 240;
const PAD = { left: 56, right: 16, top: 16, bottom: 36 };

interface Series {
  label: string;
  colour: string;
  values: number[];
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/** A line chart of series over the samples' minutes, y from 0 to a rounded maximum. */
function lineChart(title: string, unit: string, minutes: number[], series: Series[]): string {
  const maxX = Math.max(1e-9, ...minutes);
  const maxY = niceCeiling(Math.max(1e-9, ...series.flatMap((s) => s.values)));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (m: number) => PAD.left + (m / maxX) * plotW;
  const y = (v: number) => PAD.top + plotH - (v / maxY) * plotH;
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = maxY * f;
      return `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end">${round(v)}</text>`;
    })
    .join("");
  const xTicks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<text x="${x(maxX * f)}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle">${round(maxX * f)}</text>`)
    .join("");
  const lines = series
    .map((s) => {
      const points = s.values.map((v, i) => `${x(minutes[i]!).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      return `<polyline fill="none" stroke="${s.colour}" stroke-width="1.8" points="${points}"><title>${escapeHtml(s.label)}</title></polyline>`;
    })
    .join("");
  const legend = series.map((s, i) => `<text x="${PAD.left + 8 + i * 180}" y="${PAD.top + 12}" fill="${s.colour}">■ ${escapeHtml(s.label)}</text>`).join("");
  return `<h2>${escapeHtml(title)}</h2>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">
${grid}${xTicks}
<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 4}" text-anchor="middle">minutes</text>
<text x="12" y="${PAD.top + plotH / 2}" transform="rotate(-90 12 ${PAD.top + plotH / 2})" text-anchor="middle">${escapeHtml(unit)}</text>
${lines}${legend}
</svg>`;
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function round(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export function renderSoakHtml(report: SoakReport): string {
  const samples: SoakSample[] = report.samples;
  const minutes = samples.map((s) => s.atSeconds / 60);
  const { result, memory } = report;
  const codes = Object.entries(result.codes)
    .map(([code, count]) => `<tr><td>${escapeHtml(code)}</td><td>${count}</td></tr>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Funnel ML soak</title>
<style>body{font-family:sans-serif;margin:24px;max-width:820px}td,th{padding:2px 10px;text-align:left}.ok{color:#1a7f37}.bad{color:#c62828}</style>
</head><body>
<h1>Soak: ${round(report.soak.durationMs / 60_000)} min at ${report.soak.ratePerSec} calls/s on ${escapeHtml(report.soak.target)}</h1>
<p class="${memory.levelsOff ? "ok" : "bad"}"><b>${escapeHtml(memory.verdict)}</b></p>
<table>
<tr><th>throughput</th><td>${round(report.throughputPerSec)} calls/s</td></tr>
<tr><th>calls</th><td>${result.requests} (${result.errors} errors, ${(result.errorRate * 100).toFixed(3)} %)</td></tr>
<tr><th>latency p50 / p99 / max</th><td>${result.latencyMs.p50Ms} / ${result.latencyMs.p99Ms} / ${result.latencyMs.maxMs} ms</td></tr>
<tr><th>RSS peak second / last quarter</th><td>${memory.rssPeakMiB.secondQuarter} / ${memory.rssPeakMiB.lastQuarter} MiB (${memory.rssPeakGrowthMiBPerMin} MiB/min)</td></tr>
<tr><th>RSS slope first / last half</th><td>${memory.rss.firstHalfMiBPerMin} / ${memory.rss.lastHalfMiBPerMin} MiB/min</td></tr>
<tr><th>heap slope first / last half</th><td>${memory.heapUsed.firstHalfMiBPerMin} / ${memory.heapUsed.lastHalfMiBPerMin} MiB/min</td></tr>
</table>
<h2>Calls by status</h2><table>${codes}</table>
${lineChart("Server memory", "MiB", minutes, [
  { label: "RSS", colour: "#1565c0", values: samples.map((s) => s.rssBytes / MIB) },
  { label: "V8 heap used", colour: "#ef6c00", values: samples.map((s) => s.heapUsedBytes / MIB) },
])}
${lineChart("Throughput and machine load", "calls/s, load", minutes, [
  { label: "finished calls/s", colour: "#2e7d32", values: samples.map((s) => s.throughputPerSec) },
  { label: "errors in interval", colour: "#c62828", values: samples.map((s) => s.errors) },
  { label: "1-min load average (" + report.soak.cpus + " CPUs)", colour: "#6a1b9a", values: samples.map((s) => s.loadAverage) },
])}
</body></html>
`;
}
