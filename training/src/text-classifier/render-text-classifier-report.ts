import { escapeHtml, lineChart, type LineSeries } from "../report/svg-charts.js";
import type { TextEpochLog } from "./train-text-classifier.js";

export interface TextClassifierReportInput {
  title: string;
  params: Record<string, unknown>;
  epochs: TextEpochLog[];
  bestEpoch: number;
  /** Per split: rows, accuracy, macro-F1. */
  metrics: Record<string, { rows: number; accuracy: number; macroF1: number }>;
  /** Confusion matrix on the test split, [true][predicted]. */
  confusion: number[][];
  labels: string[];
}

/**
 * One self-contained HTML page per text-classifier run (inline SVG and CSS, no scripts), like the two-tower
 * report: metrics per split, confusion matrix, loss / accuracy / gradient-norm / learning-rate curves, parameters.
 */
export function renderTextClassifierReport(run: TextClassifierReportInput): string {
  const sections: string[] = [];
  const rows = Object.entries(run.metrics).map(
    ([split, m]) => `<tr><th>${escapeHtml(split)}</th><td>${m.rows}</td><td>${m.accuracy.toFixed(4)}</td><td>${m.macroF1.toFixed(4)}</td></tr>`,
  );
  sections.push(`<h2>Metrics (best epoch ${run.bestEpoch})</h2>`);
  sections.push(`<table><thead><tr><th>split</th><th>rows</th><th>accuracy</th><th>macro-F1</th></tr></thead><tbody>${rows.join("")}</tbody></table>`);
  sections.push("<h3>Confusion matrix (test split; rows = true label, columns = predicted)</h3>");
  sections.push(
    `<table><thead><tr><th></th>${run.labels.map((l) => `<th>${escapeHtml(l)}</th>`).join("")}</tr></thead><tbody>${run.confusion
      .map((row, i) => `<tr><th>${escapeHtml(run.labels[i] ?? String(i))}</th>${row.map((n) => `<td>${n}</td>`).join("")}</tr>`)
      .join("")}</tbody></table>`,
  );
  sections.push("<h2>Training curves</h2>");
  if (run.epochs.length === 0) sections.push("<p>No epochs were logged.</p>");
  else {
    const series = (name: string, key: keyof TextEpochLog): LineSeries => ({ name, points: run.epochs.map((e) => ({ x: e.epoch, y: e[key] as number })) });
    sections.push(lineChart({ title: "Loss per epoch", xLabel: "epoch", yLabel: "cross-entropy", series: [series("train", "trainLoss"), series("validation", "validationLoss")] }));
    sections.push(lineChart({ title: "Validation accuracy", xLabel: "epoch", yLabel: "accuracy", series: [series("validation accuracy", "validation accuracy")] }));
    sections.push(
      `<div class="pair">${lineChart({ title: "Gradient norm (before clipping)", xLabel: "epoch", yLabel: "global L2 norm", series: [series("gradient norm", "gradNorm")], width: 560, height: 280 })}${lineChart({ title: "Learning rate (end of epoch)", xLabel: "epoch", yLabel: "learning rate", series: [series("learning rate", "learningRate")], width: 560, height: 280 })}</div>`,
    );
    sections.push(lineChart({ title: "Throughput", xLabel: "epoch", yLabel: "samples/s", series: [series("samples/s", "samplesPerSecond")], width: 560, height: 260 }));
  }
  sections.push("<h2>Parameters</h2>");
  sections.push(`<pre>${escapeHtml(JSON.stringify(run.params, null, 2))}</pre>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(run.title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1200px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
thead th { background: #f4f4f4; }
.pair { display: flex; flex-wrap: wrap; gap: 12px; }
pre { background: #f7f7f7; padding: 10px; overflow-x: auto; }
</style></head>
<body><h1>${escapeHtml(run.title)}</h1>
${sections.join("\n")}
</body></html>
`;
}
