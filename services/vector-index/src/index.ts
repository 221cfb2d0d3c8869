export type {
  Attributes,
  AttributeValue,
  IndexVersion,
  Metric,
  SearchHit,
  SearchOptions,
  SearchResult,
  UpsertRequest,
  VectorIndex,
  VersionedVectors,
} from "./vector-index.js";
export { MAX_K } from "./vector-index.js";
export { ExactIndex, type ExactIndexOptions } from "./exact-index.js";
export { HnswIndex, type HnswIndexOptions, hnswIndexFile } from "./hnsw-index.js";
export { DEFAULT_HNSW_PARAMS, type HnswParams } from "./hnsw-params.js";
export { exactTopK, type ExactTopKOptions, type TopKRows, topKOfScores } from "./exact-top-k.js";
export { indexLabel } from "./check-request.js";
export {
  DimensionMismatchError,
  type GrpcStatusName,
  IndexNotFoundError,
  IndexStateError,
  InvalidVectorArgumentError,
  VectorIndexError,
  VectorStoreUnavailableError,
  VersionMismatchError,
} from "./errors.js";
export { MilvusCatalog, type MilvusCatalogOptions, milvusAliasName, milvusCollectionName } from "./milvus-catalog.js";
export { MilvusIndex, milvusFilter } from "./milvus-index.js";
