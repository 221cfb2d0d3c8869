export { renderOverlay, findKubectl } from "./render-overlay.js";
export type { Resource } from "./render-overlay.js";
export { validateResource } from "./validate-resource.js";
export { manifestViolations } from "./manifest-violations.js";
export { analyseQuery, exposedMetricNames, queriesOf, readMonitoringFiles } from "./monitoring-queries.js";
export type { AlertRule, MonitoringFiles, Query } from "./monitoring-queries.js";
