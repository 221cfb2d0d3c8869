export { renderRunReport } from "./render-run-report.js";
export type { EpochLog, RunReportInput } from "./render-run-report.js";
export { projectEmbeddings2d } from "./project-embeddings-2d.js";
export { groupedBarChart, lineChart, scatterChart, escapeHtml, PALETTE } from "./svg-charts.js";
export { htmlPage } from "./html-page.js";
export type { LineSeries } from "./svg-charts.js";
export { renderDriftReport, driftVerdict } from "./render-drift-report.js";
export type { DriftThresholds, DriftVerdict } from "./render-drift-report.js";
