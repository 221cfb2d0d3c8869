export { trainTwoTower, evaluateLoss, trainStep, assembleBatch, DEFAULT_TRAIN_OPTIONS } from "./train-two-tower.js";
export type { TrainOptions, TrainResult, TrainHooks, TrainEpochLog, TrainingData, PairSet, PairSplit, UserIdDropout } from "./train-two-tower.js";
export {
  TwoTowerModel,
  towerConfigFromSpec,
  initialWeights,
  parameterShapes,
  userInputWidth,
  hasUserIdEmbedding,
  itemInputWidth,
  l2Normalize,
  sliceUsers,
  sliceItems,
  OUTPUT_DIMS,
  DEFAULT_EMBEDDING_WIDTHS,
  L2_EPSILON_SQUARED,
} from "./two-tower-model.js";
export type { TwoTowerConfig, TwoTowerWeights, EmbeddingWidths, ForwardOptions } from "./two-tower-model.js";
export { buildRetrievalTask, historyContext, ownHistoryContext } from "./build-retrieval-task.js";
export type { RetrievalTask, RetrievalContext, SplitStrategy, ItemAttributeInput, UserSources } from "./build-retrieval-task.js";
export { inBatchSoftmaxLoss } from "./in-batch-softmax-loss.js";
export type { InBatchLossInput } from "./in-batch-softmax-loss.js";
export { AdamOptimizer } from "./adam-optimizer.js";
export { learningRateAt, LEARNING_RATE_SCHEDULES } from "./learning-rate-schedule.js";
export type { LearningRateSchedule } from "./learning-rate-schedule.js";
export { embeddingBag } from "./embedding-bag.js";
export { matMul, matMulTransposeB } from "./mat-mul.js";
export { initBackend } from "./init-backend.js";
export type { BackendInfo } from "./init-backend.js";
