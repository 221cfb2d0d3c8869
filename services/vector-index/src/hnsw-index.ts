import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { BatchMatches, Index, MetricKind, ScalarKind } from "usearch";
import { checkOpen, checkSearch, checkUpsert, indexLabel, matchesFilter } from "./check-request.js";
import { IndexNotFoundError, VersionMismatchError } from "./errors.js";
import { concatRows, exclusionSets } from "./exclusion-sets.js";
import { DEFAULT_HNSW_PARAMS, type HnswParams } from "./hnsw-params.js";
import type {
  Attributes,
  IndexVersion,
  Metric,
  SearchHit,
  SearchOptions,
  SearchResult,
  UpsertRequest,
  VectorIndex,
  VersionedVectors,
} from "./vector-index.js";

export interface HnswIndexOptions {
  version: IndexVersion;
  dim: number;
  metric?: Metric;
  params?: Partial<HnswParams>;
}

/** Sidecar written beside the native graph: what usearch does not store (ids, attributes, version). */
interface HnswMeta {
  format: 1;
  version: IndexVersion;
  dim: number;
  metric: Metric;
  params: HnswParams;
  nextKey: number;
  /** [key, id, attributes?] for every live vector. */
  entries: [number, string, Attributes?][];
}

/** Where a version's index for one entity is saved: beside the model directory's other files. */
export function hnswIndexFile(modelDir: string, entity: string): string {
  return path.join(modelDir, "index", `${entity}.usearch`);
}

/** Filtered searches fetch this many times k first, and grow by this factor while too few hits pass. */
const OVERFETCH = 4;

/**
 * Embedded HNSW index (usearch, prebuilt N-API binary). Ids are strings mapped to stable 64-bit keys, so an
 * upsert of a known id replaces its vector under the same key. Filters and exclusions are applied to an
 * over-fetched candidate list that grows until k hits pass or the whole index was considered, so a filtered
 * search never returns fewer hits than exist. Calls are synchronous native work on the caller's thread.
 */
export class HnswIndex implements VectorIndex {
  readonly version: IndexVersion;
  readonly dim: number;
  readonly metric: Metric;
  readonly params: HnswParams;
  closed = false;
  private native: Index;
  private nextKey = 1;
  private readonly keyOf = new Map<string, number>();
  private readonly idOf = new Map<number, string>();
  private readonly attributesOf = new Map<number, Attributes>();

  constructor(options: HnswIndexOptions) {
    this.version = { ...options.version };
    this.dim = options.dim;
    this.metric = options.metric ?? "ip";
    this.params = { ...DEFAULT_HNSW_PARAMS, ...options.params };
    this.native = this.newNative();
  }

  /**
   * Loads an index saved by `save`; refuses one saved for another version than `expected` (when given).
   * Search-time parameters may differ from the saved ones (usearch fixes efSearch per native index).
   */
  static async load(file: string, options: { expected?: IndexVersion; params?: Partial<Pick<HnswParams, "efSearch" | "threads">> } = {}): Promise<HnswIndex> {
    const { expected } = options;
    let meta: HnswMeta;
    try {
      meta = JSON.parse(await readFile(`${file}.meta.json`, "utf8")) as HnswMeta;
    } catch (err) {
      throw new IndexNotFoundError(`no saved HNSW index at ${file} (or its .meta.json is unreadable); build and save it first`, { cause: err });
    }
    if (expected && (expected.model !== meta.version.model || expected.version !== meta.version.version || expected.entity !== meta.version.entity)) {
      throw new VersionMismatchError(indexLabel(expected), indexLabel(meta.version));
    }
    const index = new HnswIndex({ version: meta.version, dim: meta.dim, metric: meta.metric, params: { ...meta.params, ...options.params } });
    index.native.load(file);
    index.nextKey = meta.nextKey;
    for (const [key, id, attributes] of meta.entries) {
      index.keyOf.set(id, key);
      index.idOf.set(key, id);
      if (attributes) index.attributesOf.set(key, attributes);
    }
    return index;
  }

  /** Writes the graph and its sidecar; each lands atomically (temp file + rename). */
  async save(file: string): Promise<void> {
    checkOpen(this);
    await mkdir(path.dirname(file), { recursive: true });
    const meta: HnswMeta = {
      format: 1,
      version: this.version,
      dim: this.dim,
      metric: this.metric,
      params: this.params,
      nextKey: this.nextKey,
      entries: [...this.idOf].map(([key, id]) => {
        const attributes = this.attributesOf.get(key);
        return attributes ? [key, id, attributes] : [key, id];
      }),
    };
    const tmp = `${file}.${process.pid}.tmp`;
    this.native.save(tmp);
    await writeFile(`${tmp}.meta.json`, JSON.stringify(meta));
    await rename(tmp, file);
    await rename(`${tmp}.meta.json`, `${file}.meta.json`);
  }

  async size(): Promise<number> {
    checkOpen(this);
    return this.keyOf.size;
  }

  async search(queries: VersionedVectors, k: number, options: SearchOptions = {}): Promise<SearchResult> {
    const vectors = checkSearch(this, queries, k, options);
    const size = this.keyOf.size;
    const hits: SearchHit[][] = vectors.map(() => []);
    if (size === 0) return { version: this.version, hits };
    const excluded = exclusionSets(options, vectors.length, (id) => this.keyOf.get(id));
    const { filter } = options;
    const minScore = options.minScore ?? Number.NEGATIVE_INFINITY;
    const filtered = filter !== undefined || excluded.some((s) => s.size > 0);

    let pending = vectors.map((_, q) => q);
    let fetch = Math.min(size, filtered ? k * OVERFETCH + Math.max(...excluded.map((s) => s.size)) : k);
    for (;;) {
      const batch = concatRows(
        pending.map((q) => vectors[q]!),
        this.dim,
      );
      const { keys, distances, counts } = this.searchNative(batch, fetch);
      const short: number[] = [];
      pending.forEach((q, b) => {
        const list: SearchHit[] = [];
        const count = Number(counts[b]);
        let belowMinScore = false;
        for (let j = b * fetch; j < b * fetch + count && list.length < k; j++) {
          // usearch's inner-product distance is 1 - dot.
          const score = 1 - distances[j]!;
          if (score < minScore) {
            belowMinScore = true; // candidates come best first: the rest score lower still
            break;
          }
          const key = Number(keys[j]);
          if (excluded[q]!.has(key)) continue;
          if (filter && !matchesFilter(this.attributesOf.get(key), filter)) continue;
          list.push({ id: this.idOf.get(key)!, score });
        }
        hits[q] = list;
        if (list.length < k && fetch < size && !belowMinScore) short.push(q);
      });
      if (short.length === 0) break;
      pending = short;
      fetch = Math.min(size, fetch * OVERFETCH);
    }
    return { version: this.version, hits };
  }

  async upsert(request: UpsertRequest): Promise<void> {
    const vectors = checkUpsert(this, request);
    if (vectors.length === 0) return;
    const keys = new BigUint64Array(vectors.length);
    request.ids.forEach((id, i) => {
      let key = this.keyOf.get(id);
      if (key === undefined) {
        key = this.nextKey++;
        this.keyOf.set(id, key);
        this.idOf.set(key, id);
      } else {
        // usearch's wrapper refuses duplicate keys: replace = remove, then add under the same key.
        this.native.remove(BigInt(key));
      }
      keys[i] = BigInt(key);
      const attributes = request.attributes?.[i];
      if (attributes) this.attributesOf.set(key, { ...attributes });
      else this.attributesOf.delete(key);
    });
    this.native.add(keys, concatRows(vectors, this.dim), this.params.threads);
  }

  async delete(ids: readonly string[]): Promise<number> {
    checkOpen(this);
    let removed = 0;
    for (const id of ids) {
      const key = this.keyOf.get(id);
      if (key === undefined) continue;
      this.native.remove(BigInt(key));
      this.keyOf.delete(id);
      this.idOf.delete(key);
      this.attributesOf.delete(key);
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    this.closed = true;
    // Drop the native graph now rather than at GC: a swapped-out version's index can be gigabytes.
    this.native = this.newNative();
    this.keyOf.clear();
    this.idOf.clear();
    this.attributesOf.clear();
  }

  private newNative(): Index {
    return new Index({
      dimensions: this.dim,
      // Cosine is served as inner product over vectors normalised by checkSearch/checkUpsert.
      metric: MetricKind.IP,
      quantization: ScalarKind.F32,
      connectivity: this.params.m,
      expansion_add: this.params.efConstruction,
      expansion_search: this.params.efSearch,
      multi: false,
    });
  }

  private searchNative(batch: Float32Array, fetch: number): { keys: BigUint64Array; distances: Float32Array; counts: ArrayLike<bigint> } {
    const result = this.native.search(batch, fetch, this.params.threads);
    // One query comes back as Matches (no counts), several as BatchMatches.
    return result instanceof BatchMatches ? result : { keys: result.keys, distances: result.distances, counts: [BigInt(result.keys.length)] };
  }
}
