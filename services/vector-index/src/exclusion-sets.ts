import type { SearchOptions } from "./vector-index.js";

/**
 * The excluded internal keys (rows, HNSW keys) per query: the shared `excludeIds` plus the query's own list.
 * Unknown ids are dropped here: they cannot be returned anyway.
 */
export function exclusionSets(options: SearchOptions, queryCount: number, keyOf: (id: string) => number | undefined): Set<number>[] {
  const keys = (ids: readonly string[] | undefined, into: Set<number>): Set<number> => {
    for (const id of ids ?? []) {
      const key = keyOf(id);
      if (key !== undefined) into.add(key);
    }
    return into;
  };
  const shared = keys(options.excludeIds, new Set());
  return Array.from({ length: queryCount }, (_, q) =>
    options.excludeIdsPerQuery ? keys(options.excludeIdsPerQuery[q], new Set(shared)) : shared,
  );
}

/** Row-major copy of equal-length vectors, the layout the top-k loop and the native index take. */
export function concatRows(vectors: readonly Float32Array[], dim: number): Float32Array {
  const flat = new Float32Array(vectors.length * dim);
  for (const [i, v] of vectors.entries()) flat.set(v, i * dim);
  return flat;
}
