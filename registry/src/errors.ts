/**
 * Domain errors of the model registry. Each class names the gRPC status a server should answer with, so a
 * single boundary function in a service can map them without knowing registry internals.
 */

/** gRPC status names, spelled as in @grpc/grpc-js `status`, so a server maps with `status[err.grpcStatus]`. */
export type GrpcStatusName =
  | "NOT_FOUND"
  | "DATA_LOSS"
  | "FAILED_PRECONDITION"
  | "INVALID_ARGUMENT"
  | "UNAVAILABLE"
  | "ABORTED"
  | "INTERNAL";

/** Base class: lets callers catch every registry error at once. Maps to gRPC `INTERNAL` if not narrowed. */
export class RegistryError extends Error {
  readonly grpcStatus: GrpcStatusName = "INTERNAL";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No registered model with this name. gRPC: `NOT_FOUND`. */
export class ModelNotFoundError extends RegistryError {
  override readonly grpcStatus = "NOT_FOUND" as const;
  constructor(readonly model: string) {
    super(`model "${model}" is not registered; run \`registry list\` to see registered models`);
  }
}

/** The model exists but has no (visible, non-archived where required) version with this number. gRPC: `NOT_FOUND`. */
export class VersionNotFoundError extends RegistryError {
  override readonly grpcStatus = "NOT_FOUND" as const;
  constructor(
    readonly model: string,
    readonly version: number,
    detail = "",
  ) {
    super(`model "${model}" has no version ${version}${detail ? ` (${detail})` : ""}`);
  }
}

/** The model exists but the alias points nowhere. gRPC: `NOT_FOUND`. */
export class AliasNotFoundError extends RegistryError {
  override readonly grpcStatus = "NOT_FOUND" as const;
  constructor(
    readonly model: string,
    readonly alias: string,
  ) {
    super(`model "${model}" has no alias "${alias}"; set it with \`registry promote ${model} <version> --alias ${alias}\``);
  }
}

/**
 * A file's sha256 or size differs from the manifest, or a listed file is missing: the version is refused.
 * gRPC: `DATA_LOSS` (stored artifacts are corrupt) — a server may use `FAILED_PRECONDITION` when the
 * mismatch is in a caller-supplied directory.
 */
export class ChecksumMismatchError extends RegistryError {
  override readonly grpcStatus = "DATA_LOSS" as const;
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`checksum mismatch for "${file}": manifest says ${expected}, found ${actual}; the model directory is corrupt or was modified after its manifest was written`);
  }
}

/** A model directory or its manifest is malformed (missing manifest, wrong format, bad field). gRPC: `FAILED_PRECONDITION`. */
export class InvalidModelDirectoryError extends RegistryError {
  override readonly grpcStatus = "FAILED_PRECONDITION" as const;
  constructor(
    readonly dir: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid model directory ${dir}: ${problem}`, options);
  }
}

/** A caller passed a malformed argument (bad model name, alias, version reference, config). gRPC: `INVALID_ARGUMENT`. */
export class InvalidArgumentError extends RegistryError {
  override readonly grpcStatus = "INVALID_ARGUMENT" as const;
}

/** The registry backend cannot be reached or answers with server errors after retries. gRPC: `UNAVAILABLE`. */
export class RegistryUnavailableError extends RegistryError {
  override readonly grpcStatus = "UNAVAILABLE" as const;
  constructor(
    readonly url: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`model registry at ${url} is unavailable: ${detail}`, options);
  }
}

/** Another writer holds the registry lock longer than the caller was willing to wait. gRPC: `ABORTED`. */
export class RegistryLockedError extends RegistryError {
  override readonly grpcStatus = "ABORTED" as const;
  constructor(readonly lockPath: string, waitedMs: number) {
    super(`registry lock ${lockPath} is held by another writer (waited ${waitedMs} ms); retry, or remove the lock file if its owner is gone`);
  }
}

/** The operation is valid but the registry's state forbids it (alias onto an archived version, nothing to roll back to). gRPC: `FAILED_PRECONDITION`. */
export class FailedPreconditionError extends RegistryError {
  override readonly grpcStatus = "FAILED_PRECONDITION" as const;
}

/** A stored registry record (audit line, alias event tag, version record) cannot be parsed. gRPC: `DATA_LOSS`. */
export class CorruptRecordError extends RegistryError {
  override readonly grpcStatus = "DATA_LOSS" as const;
}
