/** A feature spec that does not match the schema; the message names the offending field path. */
export class FeatureSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FeatureSpecError";
  }
}

/**
 * A raw record the spec cannot encode (e.g. a negative count or a non-string device). Serving maps it to
 * INVALID_ARGUMENT: the message names the record and field, e.g. `users[2].sessionCount`.
 */
export class FeatureEncodingError extends Error {
  /** Read by the serving runtime's error boundary (no import needed): the caller sent a bad record. */
  readonly grpcStatus = "INVALID_ARGUMENT" as const;

  constructor(message: string) {
    super(message);
    this.name = "FeatureEncodingError";
  }
}
