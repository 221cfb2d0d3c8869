export type {
  ModelRegistry,
  ModelVersion,
  ModelVersionSummary,
  RegisteredModelSummary,
  AliasEvent,
  AliasAction,
  RegisterOptions,
  SetAliasOptions,
  DownloadResult,
  TransferProgress,
  ProgressListener,
  RegistryBackend,
  VersionRef,
} from "./model-registry.js";
export { parseVersionRef, assertValidAlias } from "./model-registry.js";
export { registryFromConfig, readRegistryConfig, registryConfigFrom, registrySettings } from "./config.js";
export type { RegistryConfig, RegistryTuning, RegistrySettingsValues } from "./config.js";
export { registerAndMaybePromote, rollbackAlias, decidePromotion } from "./register-and-maybe-promote.js";
export type { PromotionPolicy, PromotionDecision, RegisterResult } from "./register-and-maybe-promote.js";
export {
  MODEL_DIRECTORY_FORMAT,
  MANIFEST_FILE,
  writeModelDirectoryManifest,
  readModelDirectory,
  verifyModelDirectory,
  parseModelManifest,
  sha256File,
} from "./model-directory.js";
export type { ModelManifest, ModelManifestMeta, ModelLineage, FileEntry } from "./model-directory.js";
export { aliasesFromHistory, aliasVersionAt, aliasVersionStack, rollbackTarget } from "./alias-history.js";
export { diffMetrics } from "./diff-metrics.js";
export type { MetricDiffRow } from "./diff-metrics.js";
export { FileRegistry } from "./file-registry.js";
export type { FileRegistryOptions } from "./file-registry.js";
export { MlflowRegistry } from "./mlflow-registry.js";
export type { MlflowRegistryOptions } from "./mlflow-registry.js";
export {
  RegistryError,
  ModelNotFoundError,
  VersionNotFoundError,
  AliasNotFoundError,
  ChecksumMismatchError,
  InvalidModelDirectoryError,
  InvalidArgumentError,
  FailedPreconditionError,
  RegistryUnavailableError,
  RegistryLockedError,
  CorruptRecordError,
} from "./errors.js";
export type { GrpcStatusName } from "./errors.js";
