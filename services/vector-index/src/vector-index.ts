/**
 * One interface for top-k search over the vectors of one model version, in the spirit of TensorFlow
 * Recommenders' `TopK` layer: exact, embedded HNSW and Milvus backends answer the same calls, so a service
 * picks one by configuration and tests compare every backend with the exact one.
 */

/** Which model version made the vectors, and which tower (entity) they come from. */
export interface IndexVersion {
  /** Registered model name, e.g. "two-tower". */
  model: string;
  /** Model version, e.g. "3". */
  version: string;
  /** Entity whose vectors the index holds, e.g. "users" or "items". */
  entity: string;
}

/**
 * Vectors tagged with the model version that produced them. The entity is not compared: a user vector of
 * two-tower v3 may search the item index of two-tower v3 (that is what recommendation does).
 */
export interface VersionedVectors {
  version: Pick<IndexVersion, "model" | "version">;
  vectors: readonly Float32Array[];
}

/** Inner product, or cosine (vectors are L2-normalised on the way in, then inner product). */
export type Metric = "ip" | "cosine";

/** Attribute values a filter compares with equality (e.g. `{ device: "mobile" }`). */
export type AttributeValue = string | number | boolean;
export type Attributes = Readonly<Record<string, AttributeValue>>;

export interface SearchOptions {
  /** Only vectors whose attributes equal every entry here (AND of equalities). */
  filter?: Attributes;
  /** Ids never returned, for every query (e.g. items the user has seen). */
  excludeIds?: readonly string[];
  /** Ids never returned, per query (same length as the queries; e.g. the query user itself). */
  excludeIdsPerQuery?: readonly (readonly string[])[];
  /** Hits scoring below this are dropped, so a query may get fewer than k. */
  minScore?: number;
}

export interface SearchHit {
  id: string;
  score: number;
}

export interface SearchResult {
  /** The version every hit comes from: one response never mixes versions. */
  version: IndexVersion;
  /** One list per query, in query order, best first (ties: the lower id first within a backend). */
  hits: SearchHit[][];
}

export interface UpsertRequest extends VersionedVectors {
  ids: readonly string[];
  /** One entry per id; attributes replace the stored ones (omitted = none). */
  attributes?: readonly (Attributes | undefined)[];
}

export interface VectorIndex {
  readonly version: IndexVersion;
  readonly dim: number;
  readonly metric: Metric;
  /** Vectors currently searchable. */
  size(): Promise<number>;
  /** Top-k per query, best first. Refuses vectors of another version or dimension (INVALID_ARGUMENT). */
  search(queries: VersionedVectors, k: number, options?: SearchOptions): Promise<SearchResult>;
  /** Inserts or replaces vectors by id; visible to the next search. */
  upsert(request: UpsertRequest): Promise<void>;
  /** Removes ids; unknown ids are ignored. Returns how many were removed. */
  delete(ids: readonly string[]): Promise<number>;
  /**
   * The vector stored under `id` now, on indexes that other processes write too (Milvus): a user upserted
   * through another replica is known here only through the store. In-process indexes leave it out.
   */
  vectorOf?(id: string): Promise<Float32Array | undefined>;
  /** Frees native memory or connections; later calls fail with FAILED_PRECONDITION. */
  close(): Promise<void>;
}

/** Hard cap on k, so one call cannot ask a backend for an unbounded result. */
export const MAX_K = 1000;
