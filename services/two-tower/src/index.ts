// Serving side of the two-tower model, shared with training so a raw record becomes the same tensor in both.

export type { Device, InteractionEvent, InteractionKind, ItemAttributes, Page, UserAttributes } from "./event.js";
export { DEVICES, INTERACTIONS, isDevice, isInteractionKind, isPage, PAGES } from "./event.js";
export type { FeatureSpec, ItemAttributeRow, ItemTensors, NumericFeature, RawInteraction, RawItemFeatures, RawUserFeatures, TensorInput, UserTensors, Vocabulary } from "./features/index.js";
export {
  aggregateItemFeatures,
  aggregateUserFeatures,
  buildFeatureSpec,
  CATEGORY_SEPARATOR,
  categoriesOf,
  CLIP,
  DEFAULT_SEQUENCE_LENGTH,
  encodeItems,
  encodeUsers,
  FEATURE_SPEC_VERSION,
  FeatureEncodingError,
  FeatureSpecError,
  ITEM_NUMERIC_FIELDS,
  MAX_CATEGORY_SLOTS,
  MAX_USER_ID_BUCKETS,
  NO_USER_ID,
  itemFeaturesKey,
  OOV_INDEX,
  PAD_INDEX,
  parseFeatureSpec,
  rawInteractionFromProto,
  rawItemFeaturesFromProto,
  rawUserFeaturesFromProto,
  userFeaturesToProto,
  itemFeaturesToProto,
  USER_NUMERIC_FIELDS,
  userFeaturesKey,
  userIdBucket,
} from "./features/index.js";
export { float32LittleEndian, MODEL_FILES, MODEL_KIND, ONNX_OUTPUT_NAME, readFloat32LittleEndian } from "./model-directory.js";
export { OnnxTowers } from "./onnx-towers.js";
export {
  DEVELOPMENT_PSEUDONYM_SALT,
  pseudonymiseEvents,
  pseudonymiseUserId,
  pseudonymsWith,
  withUserPseudonym,
  pseudonymSaltFingerprint,
  checkPseudonymSalt,
  PseudonymSaltMismatchError,
} from "./pseudonymise.js";
export type { SaltCheck } from "./pseudonymise.js";
export { ServedTwoTower, StoredEmbeddings, concatTensors } from "./served-two-tower.js";
export type { ServedTwoTowerOptions } from "./served-two-tower.js";
export { OPTIONAL_MODEL_FILES } from "./model-directory.js";
export type { ConversionHead } from "./conversion-head.js";
export { CONVERSION_HEAD_FORMAT, conversionInput, conversionInputSize, parseConversionHead, predictConversion, sigmoid } from "./conversion-head.js";
export type { InteractionStats, ItemStats, UserStats } from "./interaction-stats.js";
export { INTERACTION_STATS_FORMAT, parseInteractionStats } from "./interaction-stats.js";
export type { DriftHub, DriftMonitorOptions, DriftReport, FeatureProfile, MonitorSharing, ProfileHistogram, RollingCountsOptions, ServedDriftOptions } from "./drift/index.js";
export type { ServedItem, ServedRecommendation } from "./served-recommendation.js";
export { parseServedRecommendation, SERVED_RECOMMENDATIONS_LOG } from "./served-recommendation.js";
export {
  buildFeatureProfile,
  compareHistograms,
  DEFAULT_DRIFT_OPTIONS,
  DriftMonitor,
  FEATURE_PROFILE_FORMAT,
  MAX_TOKEN_BINS,
  parseFeatureProfile,
  PREDICTION_NAME,
  PSI_EPSILON,
  PSI_THRESHOLDS,
  populationStabilityIndex,
  RollingCounts,
  servedDriftOptions,
} from "./drift/index.js";
export type {
  Candidate,
  ItemNeighboursFile,
  ItemSource,
  PolicyRequest,
  PolicySource,
  PolicySources,
  PolicyUser,
  PolicyWeights,
  RecommendedItem,
  ScoredId,
  ServedPolicyFile,
} from "./served-policy/index.js";
export {
  blendCandidates,
  byScore,
  candidateDepth,
  DEFAULT_SIMILAR_USERS,
  defaultPolicyWeights,
  fillWithPopular,
  gatherCandidates,
  ITEM_NEIGHBOURS_FORMAT,
  ItemNeighbours,
  itemNeighboursFromRows,
  parseItemNeighbours,
  parseServedPolicy,
  POLICY_SOURCES,
  recommendItems,
  SERVED_POLICY_FORMAT,
} from "./served-policy/index.js";
