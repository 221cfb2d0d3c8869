// End-user API first: train a model directory, evaluate one, load its ONNX towers.
export { runTraining, trainAndEvaluate, evaluateModelDirectory, runSweep, formatSweepTable, parseRunConfig, readRunConfigFile, mergeRunConfig, loadDataset } from "./cli/index.js";
export type { RunConfig, RunConfigInput, RunSummary, TrainedRun, ModelEvaluation, SweepRow, Dataset } from "./cli/index.js";
export { writeModelDirectory, OnnxTowers, buildOnnxTowers, MODEL_FILES, MODEL_KIND, ONNX_OUTPUT_NAME, ONNX_OPSET, readFloat32LittleEndian, float32LittleEndian } from "./export/index.js";
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

// Data, features, evaluation and report (engineer A's folders).
export { loadEvents, loadItemAttributes, generateDataset, writeEvents, splitEvents, fingerprintEvents, pseudonymiseUserId, pseudonymiseEvents } from "./data/index.js";
export type { InteractionEvent, ItemAttributes, LoadReport, RowError, Split, GeneratedUser, GeneratedItem } from "./data/index.js";
export { buildFeatureSpec, parseFeatureSpec, encodeUsers, encodeItems, aggregateUserFeatures, aggregateItemFeatures } from "./features/index.js";
export type { FeatureSpec, UserTensors, ItemTensors, RawUserFeatures, RawItemFeatures } from "./features/index.js";
export { evaluateRetrieval, popularityBaseline, similarUserAccuracy } from "./evaluation/index.js";
export type { RetrievalMetrics } from "./evaluation/index.js";
export { renderRunReport, projectEmbeddings2d } from "./report/index.js";
export type { EpochLog } from "./report/index.js";
