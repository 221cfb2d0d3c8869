// The conversion head's section of the run report: AUC, Brier, ECE against the page-level base rate, and the
// reliability curve of both (a calibrated model lies on the diagonal).
import { escapeHtml, lineChart } from "../report/svg-charts.js";
import type { ConversionHeadEvaluation } from "./train-conversion-head.js";

export function renderConversionReport(evaluation: ConversionHeadEvaluation | undefined, skipped?: string): string {
  if (!evaluation) return `<section><h2>Conversion head</h2><p>Not shipped: ${escapeHtml(skipped ?? "no sessions after the history cutoff for both train and held-out users")}.</p></section>`;
  const { model, baseRate, examples } = evaluation;
  const row = (name: string, s: typeof model) =>
    `<tr><td>${escapeHtml(name)}</td><td>${s.auc.toFixed(4)}</td><td>${s.brier.toFixed(4)}</td><td>${s.logLoss.toFixed(4)}</td><td>${s.ece.toFixed(4)}</td></tr>`;
  const chart = lineChart({
    title: "Reliability: predicted vs observed conversion (held-out users)",
    xLabel: "mean predicted probability",
    yLabel: "observed conversion rate",
    series: [
      { name: "perfect calibration", points: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
      { name: "conversion head", points: model.reliability.map((b) => ({ x: b.predicted, y: b.observed })) },
      { name: "page base rate", points: baseRate.reliability.map((b) => ({ x: b.predicted, y: b.observed })) },
    ],
  });
  return `<section><h2>Conversion head</h2>
<p>Logistic regression on the user embedding (history before the cutoff) + current page + device; ${examples.train} training and ${examples.test} held-out examples (one per event before a session's conversion), positive rate ${(examples.positiveRate * 100).toFixed(1)}%.</p>
<table><tr><th></th><th>AUC</th><th>Brier</th><th>log loss</th><th>ECE</th></tr>${row("conversion head", model)}${row("page-level base rate", baseRate)}</table>
${chart}</section>`;
}
