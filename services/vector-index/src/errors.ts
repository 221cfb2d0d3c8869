/**
 * Domain errors of the vector index. Like the model registry's, each class names the gRPC status a server
 * answers with (`grpcStatus`, spelled as in @grpc/grpc-js `status`), so the runtime's one error boundary maps
 * them without this package depending on gRPC. Messages are written for callers: they say what to fix.
 */

/** gRPC status names, spelled as in @grpc/grpc-js `status`, so a server maps with `status[err.grpcStatus]`. */
export type GrpcStatusName = "INVALID_ARGUMENT" | "NOT_FOUND" | "FAILED_PRECONDITION" | "UNAVAILABLE" | "INTERNAL";

/** Base class: lets callers catch every vector-index error at once. Maps to gRPC `INTERNAL` if not narrowed. */
export class VectorIndexError extends Error {
  readonly grpcStatus: GrpcStatusName = "INTERNAL";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A query or upsert carries vectors of another model version than the index's. Scores across versions are
 * meaningless (different embedding spaces), so the index refuses rather than answer. gRPC: `INVALID_ARGUMENT`.
 */
export class VersionMismatchError extends VectorIndexError {
  override readonly grpcStatus = "INVALID_ARGUMENT" as const;
  constructor(
    readonly indexVersion: string,
    readonly queryVersion: string,
  ) {
    super(
      `vectors of model version ${queryVersion} cannot be searched in the index of ${indexVersion}; ` +
        `embed the query with ${indexVersion} or use the index of ${queryVersion}`,
    );
  }
}

/** A vector has another length than the index's dimension. gRPC: `INVALID_ARGUMENT`. */
export class DimensionMismatchError extends VectorIndexError {
  override readonly grpcStatus = "INVALID_ARGUMENT" as const;
  constructor(
    readonly indexVersion: string,
    readonly field: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`${field}: has ${actual} values but the index of ${indexVersion} holds vectors of dimension ${expected}`);
  }
}

/** Any other malformed argument (k out of range, NaN in a vector, ids and vectors of different lengths). gRPC: `INVALID_ARGUMENT`. */
export class InvalidVectorArgumentError extends VectorIndexError {
  override readonly grpcStatus = "INVALID_ARGUMENT" as const;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The named collection, alias or saved index does not exist. gRPC: `NOT_FOUND`. */
export class IndexNotFoundError extends VectorIndexError {
  override readonly grpcStatus = "NOT_FOUND" as const;
}

/**
 * The request is valid but the index is not in a state to serve it: closed, or an alias switch whose
 * backfill is not complete. gRPC: `FAILED_PRECONDITION`.
 */
export class IndexStateError extends VectorIndexError {
  override readonly grpcStatus = "FAILED_PRECONDITION" as const;
}

/** The vector database cannot be reached (or timed out); nothing was changed, retrying later is safe. gRPC: `UNAVAILABLE`. */
export class VectorStoreUnavailableError extends VectorIndexError {
  override readonly grpcStatus = "UNAVAILABLE" as const;
}
