import { checkOpen, checkSearch, checkUpsert, matchesFilter } from "./check-request.js";
import { concatRows, exclusionSets } from "./exclusion-sets.js";
import { exactTopK } from "./exact-top-k.js";
import type {
  Attributes,
  IndexVersion,
  Metric,
  SearchOptions,
  SearchResult,
  UpsertRequest,
  VectorIndex,
  VersionedVectors,
} from "./vector-index.js";

export interface ExactIndexOptions {
  version: IndexVersion;
  dim: number;
  metric?: Metric;
  /** Rows to allocate up front (grows by doubling). */
  initialCapacity?: number;
}

/**
 * Brute-force search over a dense matrix: the reference every other backend is tested against, and the right
 * choice for small catalogues (no build, exact answers). Deletes move the last row into the hole, so the
 * matrix stays dense.
 */
export class ExactIndex implements VectorIndex {
  readonly version: IndexVersion;
  readonly dim: number;
  readonly metric: Metric;
  closed = false;
  private matrix: Float32Array;
  private readonly ids: string[] = [];
  private readonly attributes: (Attributes | undefined)[] = [];
  private readonly rowOf = new Map<string, number>();

  constructor(options: ExactIndexOptions) {
    this.version = { ...options.version };
    this.dim = options.dim;
    this.metric = options.metric ?? "ip";
    this.matrix = new Float32Array(Math.max(1, options.initialCapacity ?? 1024) * this.dim);
  }

  async size(): Promise<number> {
    checkOpen(this);
    return this.ids.length;
  }

  async search(queries: VersionedVectors, k: number, options: SearchOptions = {}): Promise<SearchResult> {
    const vectors = checkSearch(this, queries, k, options);
    const excluded = exclusionSets(options, vectors.length, (id) => this.rowOf.get(id));
    const { filter } = options;
    // Evaluated once per row, not once per (query, row).
    const rejected = filter ? Uint8Array.from(this.attributes, (a) => (matchesFilter(a, filter) ? 0 : 1)) : undefined;
    const tops = exactTopK(concatRows(vectors, this.dim), this.matrix, k, {
      dim: this.dim,
      rowCount: this.ids.length,
      minScore: options.minScore,
      skip: (q, row) => rejected?.[row] === 1 || excluded[q]!.has(row),
    });
    return {
      version: this.version,
      hits: tops.map((top) => Array.from(top.rows, (row, i) => ({ id: this.ids[row]!, score: top.scores[i]! }))),
    };
  }

  async upsert(request: UpsertRequest): Promise<void> {
    const vectors = checkUpsert(this, request);
    vectors.forEach((vector, i) => {
      const id = request.ids[i]!;
      let row = this.rowOf.get(id);
      if (row === undefined) {
        row = this.ids.length;
        if ((row + 1) * this.dim > this.matrix.length) this.grow();
        this.ids.push(id);
        this.attributes.push(undefined);
        this.rowOf.set(id, row);
      }
      this.matrix.set(vector, row * this.dim);
      this.attributes[row] = request.attributes?.[i];
    });
  }

  async delete(ids: readonly string[]): Promise<number> {
    checkOpen(this);
    let removed = 0;
    for (const id of ids) {
      const row = this.rowOf.get(id);
      if (row === undefined) continue;
      const last = this.ids.length - 1;
      if (row !== last) {
        this.matrix.copyWithin(row * this.dim, last * this.dim, (last + 1) * this.dim);
        const moved = this.ids[last]!;
        this.ids[row] = moved;
        this.attributes[row] = this.attributes[last];
        this.rowOf.set(moved, row);
      }
      this.ids.pop();
      this.attributes.pop();
      this.rowOf.delete(id);
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.matrix = new Float32Array(0);
  }

  private grow(): void {
    const next = new Float32Array(this.matrix.length * 2);
    next.set(this.matrix);
    this.matrix = next;
  }
}
