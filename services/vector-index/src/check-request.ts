// Validation shared by every backend, so each refuses the same bad input with the same message.
import { DimensionMismatchError, IndexStateError, InvalidVectorArgumentError, VersionMismatchError } from "./errors.js";
import {
  type Attributes,
  type IndexVersion,
  MAX_K,
  type Metric,
  type SearchOptions,
  type UpsertRequest,
  type VersionedVectors,
} from "./vector-index.js";

/** "two-tower v3 (users)": how messages name an index. */
export function indexLabel(v: IndexVersion): string {
  return `${v.model} v${v.version} (${v.entity})`;
}

/** Attribute names end up in Milvus filter expressions, so they are restricted to identifiers. */
const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

interface IndexShape {
  readonly version: IndexVersion;
  readonly dim: number;
  readonly metric: Metric;
  readonly closed: boolean;
}

/** A closed index refuses every call (its slot was swapped out; the caller holds a stale reference). */
export function checkOpen(index: Pick<IndexShape, "version" | "closed">): void {
  if (index.closed) throw new IndexStateError(`the index of ${indexLabel(index.version)} is closed; use the current version's index`);
}

function checkVectors(index: IndexShape, given: VersionedVectors, field: string): Float32Array[] {
  checkOpen(index);
  const v = given.version;
  if (v.model !== index.version.model || v.version !== index.version.version) {
    throw new VersionMismatchError(indexLabel(index.version), `${v.model} v${v.version}`);
  }
  return given.vectors.map((vector, i) => {
    if (!(vector instanceof Float32Array)) throw new InvalidVectorArgumentError(`${field}[${i}]`, "must be a Float32Array");
    if (vector.length !== index.dim) throw new DimensionMismatchError(indexLabel(index.version), `${field}[${i}]`, index.dim, vector.length);
    let norm = 0;
    for (let d = 0; d < vector.length; d++) {
      const x = vector[d]!;
      if (!Number.isFinite(x)) throw new InvalidVectorArgumentError(`${field}[${i}][${d}]`, `is ${x}; every value must be a finite number`);
      norm += x * x;
    }
    if (index.metric === "ip") return vector;
    if (norm === 0) throw new InvalidVectorArgumentError(`${field}[${i}]`, "is all zeros; cosine similarity needs a non-zero vector");
    const scale = 1 / Math.sqrt(norm);
    return vector.map((x) => x * scale);
  });
}

function checkAttributes(attributes: Attributes, field: string): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (!ATTRIBUTE_NAME.test(name)) throw new InvalidVectorArgumentError(`${field}.${name}`, "attribute names are letters, digits and _ (not first), at most 64");
    const type = typeof value;
    if (type !== "string" && type !== "boolean" && !(type === "number" && Number.isFinite(value))) {
      throw new InvalidVectorArgumentError(`${field}.${name}`, "must be a string, a finite number or a boolean");
    }
  }
}

/** Checks a search and returns the query vectors ready for inner product (normalised for cosine). */
export function checkSearch(index: IndexShape, queries: VersionedVectors, k: number, options: SearchOptions = {}): Float32Array[] {
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new InvalidVectorArgumentError("k", `must be an integer in 1..${MAX_K}, got ${k}`);
  const vectors = checkVectors(index, queries, "queries");
  if (options.excludeIdsPerQuery && options.excludeIdsPerQuery.length !== vectors.length) {
    throw new InvalidVectorArgumentError(
      "excludeIdsPerQuery",
      `has ${options.excludeIdsPerQuery.length} lists for ${vectors.length} queries; give one list per query`,
    );
  }
  if (options.minScore !== undefined && !Number.isFinite(options.minScore)) {
    throw new InvalidVectorArgumentError("minScore", `must be a finite number, got ${options.minScore}`);
  }
  if (options.filter) checkAttributes(options.filter, "filter");
  return vectors;
}

/** Checks an upsert and returns its vectors ready for inner product (normalised for cosine). */
export function checkUpsert(index: IndexShape, request: UpsertRequest): Float32Array[] {
  const vectors = checkVectors(index, request, "vectors");
  if (request.ids.length !== vectors.length) {
    throw new InvalidVectorArgumentError("ids", `has ${request.ids.length} ids for ${vectors.length} vectors; give one id per vector`);
  }
  if (request.attributes && request.attributes.length !== vectors.length) {
    throw new InvalidVectorArgumentError("attributes", `has ${request.attributes.length} entries for ${vectors.length} vectors`);
  }
  const seen = new Set<string>();
  request.ids.forEach((id, i) => {
    if (typeof id !== "string" || id.length === 0 || id.length > 256) {
      throw new InvalidVectorArgumentError(`ids[${i}]`, "must be a non-empty string of at most 256 characters");
    }
    if (seen.has(id)) throw new InvalidVectorArgumentError(`ids[${i}]`, `"${id}" appears twice in one upsert; send each id once`);
    seen.add(id);
  });
  for (const [i, a] of (request.attributes ?? []).entries()) if (a) checkAttributes(a, `attributes[${i}]`);
  return vectors;
}

/** Equality on every filter entry. */
export function matchesFilter(attributes: Attributes | undefined, filter: Attributes): boolean {
  for (const [name, value] of Object.entries(filter)) {
    if (attributes?.[name] !== value) return false;
  }
  return true;
}
