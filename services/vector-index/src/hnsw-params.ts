// HNSW parameters shared by the embedded index and Milvus collections (no native import here).

/** HNSW graph parameters (names as in the HNSW paper; usearch calls them connectivity and expansion). */
export interface HnswParams {
  /** Links per node (M): more = better recall, more memory, slower build. */
  m: number;
  /** Candidate list while inserting (efConstruction). */
  efConstruction: number;
  /** Candidate list while searching (efSearch); raised to the fetch size when a query asks for more. */
  efSearch: number;
  /** Native threads for batch add/search; 0 = all cores. */
  threads: number;
}

/**
 * Chosen from `npm run bench` at 1M × 128 (package README): with efConstruction 64 the build stays within
 * minutes of CPU; efSearch 128 gave recall@10 0.953 (too close to the 0.95 target for a default), 256 gave
 * 0.981 at about half the q/s, 512 no better (the graph, not the search, is then the limit).
 */
export const DEFAULT_HNSW_PARAMS: HnswParams = { m: 16, efConstruction: 64, efSearch: 256, threads: 0 };
