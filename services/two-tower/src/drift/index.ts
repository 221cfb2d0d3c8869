export { DEFAULT_DRIFT_OPTIONS, DriftMonitor, compareHistograms } from "./drift-monitor.js";
export type { DriftMonitorOptions, DriftReport } from "./drift-monitor.js";
export { FEATURE_PROFILE_FORMAT, MAX_TOKEN_BINS, PREDICTION_NAME, buildFeatureProfile, parseFeatureProfile } from "./feature-profile.js";
export type { FeatureProfile, ProfileHistogram } from "./feature-profile.js";
export { PSI_EPSILON, PSI_THRESHOLDS, populationStabilityIndex } from "./population-stability-index.js";
export { RollingCounts } from "./rolling-counts.js";
export type { RollingCountsOptions } from "./rolling-counts.js";
