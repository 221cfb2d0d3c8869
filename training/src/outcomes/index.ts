// The outcome join without the rest of the training package (no tfjs): `@funnel/training/outcomes`.
export { runOutcomes } from "./run-outcomes.js";
export type { OutcomeRun, OutcomeRunOptions } from "./run-outcomes.js";
export { joinOutcomes, compareVersions, EXCLUSION_REASONS } from "./join-outcomes.js";
export type { ExclusionReason, OutcomeFigures, OutcomeJoin, VersionDayOutcome, VersionOutcome } from "./join-outcomes.js";
export { outcomeAlerts } from "./outcome-alerts.js";
export type { Baseline, OutcomeAlertOptions, OutcomeAlerts, OutcomeComparison } from "./outcome-alerts.js";
export { readServedLog } from "./read-served-log.js";
export type { ServedLogReport } from "./read-served-log.js";
export { outcomeMetricsRegistry, outcomeMetricsText, pushOutcomeMetrics, writeTextfile, OUTCOME_METRICS, OUTCOME_PUSH_JOB } from "./outcome-metrics.js";
export { expandServedPaths } from "./expand-served-paths.js";
export { renderOutcomeReport } from "./render-outcome-report.js";
