import { InvalidArgumentError } from "./errors.js";
import type { ModelManifest } from "./model-directory.js";

export type RegistryBackend = "file" | "mlflow";

/** Why an alias changed: a plain set/move, a rollback along the audit trail, or removal. */
export type AliasAction = "set" | "rollback" | "delete";

/** One alias move. The ordered list of these is the audit trail that answers "what was in production when". */
export interface AliasEvent {
  model: string;
  alias: string;
  /** ISO 8601. */
  at: string;
  action: AliasAction;
  previousVersion: number | null;
  newVersion: number | null;
  actor: string;
  reason?: string;
}

export interface ModelVersionSummary {
  model: string;
  version: number;
  /** ISO 8601 time the version became visible in the registry. */
  registeredAt: string;
  registeredBy: string;
  archived: boolean;
  aliases: string[];
}

export interface ModelVersion extends ModelVersionSummary {
  manifest: ModelManifest;
  /** sha256 of the stored manifest.json, recorded at registration so a tampered manifest is refused too. */
  manifestSha256: string;
  /** Where the artifacts live: a local directory (file backend) or an mlflow-artifacts: URI. */
  source: string;
  /** MLflow run holding metrics, params and artifacts (MLflow backend only). */
  runId?: string;
}

export interface RegisteredModelSummary {
  name: string;
  latestVersion: number;
  versionCount: number;
  aliases: Record<string, number>;
}

export interface TransferProgress {
  phase: "verify" | "store" | "download";
  file: string;
  doneBytes: number;
  totalBytes: number;
}

export type ProgressListener = (progress: TransferProgress) => void;

export interface RegisterOptions {
  /** When given, must equal the manifest name: guards against registering a directory under the wrong model. */
  model?: string;
  onProgress?: ProgressListener;
}

export interface SetAliasOptions {
  action?: Exclude<AliasAction, "delete">;
  reason?: string;
}

export interface DownloadResult {
  version: ModelVersion;
  dir: string;
}

/**
 * The registry both training (register) and serving (resolve/download) use. Implementations must make a
 * version visible only once all of its artifacts are stored, and must record every alias change as an
 * AliasEvent.
 */
export interface ModelRegistry {
  readonly backend: RegistryBackend;
  /** Data directory or server URL, for messages. */
  readonly location: string;
  register(dir: string, options?: RegisterOptions): Promise<ModelVersion>;
  listModels(): Promise<RegisteredModelSummary[]>;
  /** Versions in ascending order, archived ones included (flagged). */
  listVersions(model: string): Promise<ModelVersionSummary[]>;
  getVersion(model: string, version: number): Promise<ModelVersion>;
  /** `ref` is a version number (`3`, `"3"`, `"v3"`) or an alias name (`"production"`). */
  resolve(model: string, ref: number | string): Promise<ModelVersion>;
  getAliases(model: string): Promise<Record<string, number>>;
  setAlias(model: string, alias: string, version: number, options?: SetAliasOptions): Promise<AliasEvent>;
  deleteAlias(model: string, alias: string, options?: { reason?: string }): Promise<AliasEvent>;
  /** Oldest first; only events of `alias` when given. */
  aliasHistory(model: string, alias?: string): Promise<AliasEvent[]>;
  /** Archived versions stay readable by number but cannot receive aliases. */
  archive(model: string, version: number): Promise<ModelVersion>;
  /** Copies the artifacts of `ref` to `dest` (which must not exist or be empty) and verifies every sha256. */
  download(model: string, ref: number | string, dest: string, options?: { onProgress?: ProgressListener }): Promise<DownloadResult>;
}

export type VersionRef = { kind: "version"; version: number } | { kind: "alias"; alias: string };

/**
 * "3" and "v3" name versions; anything else must be a valid alias. Aliases therefore may not look like
 * version numbers — the same rule MLflow enforces, so both backends accept the same names.
 */
export function parseVersionRef(ref: number | string): VersionRef {
  if (typeof ref === "number") {
    if (!Number.isInteger(ref) || ref < 1) throw new InvalidArgumentError(`version must be a positive integer, got ${ref}`);
    return { kind: "version", version: ref };
  }
  const match = /^v?(\d+)$/.exec(ref);
  if (match) return parseVersionRef(Number(match[1]));
  assertValidAlias(ref);
  return { kind: "alias", alias: ref };
}

const ALIAS_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

export function assertValidAlias(alias: string): void {
  if (!ALIAS_PATTERN.test(alias) || alias.toLowerCase() === "latest" || /^v\d+$/i.test(alias)) {
    throw new InvalidArgumentError(
      `alias ${JSON.stringify(alias)} is invalid: use letters, digits, "_" or "-", starting with a letter, not "latest" and not "v<number>"`,
    );
  }
}

export function assertValidVersion(version: number): void {
  if (!Number.isInteger(version) || version < 1) {
    throw new InvalidArgumentError(`version must be a positive integer, got ${version}`);
  }
}
