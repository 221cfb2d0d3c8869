// End-user API first: train a model directory, evaluate one, load its ONNX towers.
export { runTraining, trainAndEvaluate, evaluateModelDirectory, runSweep, formatSweepTable, parseRunConfig, readRunConfigFile, mergeRunConfig, loadDataset, offlineDrift, serverDrift, writeDriftResult } from "./cli/index.js";
export type { RunConfig, RunConfigInput, RunSummary, TrainedRun, ModelEvaluation, SweepRow, Dataset } from "./cli/index.js";
export { writeModelDirectory, buildOnnxTowers, ONNX_OPSET } from "./export/index.js";
export type { ModelDirectoryContents } from "./export/index.js";

// The model and its training loop.
export {
  trainTwoTower,
  TwoTowerModel,
  towerConfigFromSpec,
  buildRetrievalTask,
  inBatchSoftmaxLoss,
  embeddingBag,
  initBackend,
  DEFAULT_TRAIN_OPTIONS,
  OUTPUT_DIMS,
} from "./model/index.js";
export type { TrainOptions, TrainResult, TrainEpochLog, TrainingData, TwoTowerConfig, TwoTowerWeights, RetrievalTask, RetrievalContext, BackendInfo } from "./model/index.js";

// Data, evaluation and report. The event schema, feature spec and encoders, model-directory format and ONNX
// towers live in @funnel/two-tower, which serving imports without loading tfjs.
export { loadEvents, loadItemAttributes, generateDataset, writeEvents, splitEvents, fingerprintEvents } from "./data/index.js";
export type { LoadReport, RowError, Split, GeneratedUser, GeneratedItem } from "./data/index.js";
export {
  evaluateRetrieval,
  popularityBaseline,
  similarUserAccuracy,
  tuneBaselines,
  fitBaselines,
  scoreBaselines,
  pairedBootstrap,
  compareRankers,
  collectPerUser,
} from "./evaluation/index.js";
export type { RetrievalMetrics, PairedInterval, PerUserMetrics, RankerComparison, BaselineParams, BaselineTuning, Verdict } from "./evaluation/index.js";
export { renderRunReport, projectEmbeddings2d } from "./report/index.js";
export type { EpochLog } from "./report/index.js";

// Retraining with quality gates (`npm run retrain`).
export { runRetrain, checkCandidate, decideGates, featureSpecDifferences, DEFAULT_GATE_THRESHOLDS, CANDIDATE_ALIAS, PRODUCTION_ALIAS } from "./retrain/index.js";
export type { RetrainOptions, RetrainReport, GateResult, GateThresholds } from "./retrain/index.js";
