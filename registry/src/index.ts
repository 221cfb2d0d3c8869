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
export {
  RegistryError,
  ModelNotFoundError,
  VersionNotFoundError,
  AliasNotFoundError,
  ChecksumMismatchError,
  InvalidModelDirectoryError,
  InvalidArgumentError,
  RegistryUnavailableError,
  RegistryLockedError,
} from "./errors.js";
