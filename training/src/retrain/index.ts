export { runRetrain, productionVersion, expandEventPaths, inWindow, CANDIDATE_ALIAS, PRODUCTION_ALIAS } from "./run-retrain.js";
export type { RetrainOptions, RetrainReport } from "./run-retrain.js";
export { checkCandidate, onnxParity, DEFAULT_LATENCY_CALLS } from "./check-candidate.js";
export { measureServingCost } from "./measure-serving-cost.js";
export type { LatencySample, MeasureServingCostOptions, ServingCost } from "./measure-serving-cost.js";
export type { CandidateCheck, CheckCandidateOptions, ParityInputs } from "./check-candidate.js";
export { decideGates, featureSpecDifferences, DEFAULT_GATE_THRESHOLDS } from "./retrain-gates.js";
export type { GateResult, GateStatus, GateThresholds, CandidateMeasures } from "./retrain-gates.js";
export { renderRetrainReport } from "./render-retrain-report.js";
