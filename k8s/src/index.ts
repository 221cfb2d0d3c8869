export { manifestViolations } from "./manifest-violations.js";
export type { AlertRule, MonitoringFiles, Query } from "./monitoring-queries.js";
export { analyseQuery, exposedMetricNames, queriesOf, readMonitoringFiles } from "./monitoring-queries.js";
export type { Resource } from "./render-overlay.js";
export { findKubectl, renderOverlay } from "./render-overlay.js";
export { validateResource } from "./validate-resource.js";
