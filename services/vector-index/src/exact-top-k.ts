/**
 * The one exact top-k loop: inner products of every query with every matrix row, keeping the best k per
 * query in a bounded heap. Training's evaluation (retrieval metrics, similar-user accuracy) and the exact
 * index both use it, so the reference that tests compare other backends with is the code that scores models.
 *
 * Scores are summed in double precision over d = 0..dim-1 in order, which is what a plain JS dot-product loop
 * computes, so swapping this in changes no metric. Ties go to the lower row.
 */

/** Best rows first; `rows.length === scores.length <= k` (fewer when fewer rows qualify). */
export interface TopKRows {
  rows: Int32Array;
  scores: Float64Array;
}

export interface ExactTopKOptions {
  /** Length of each query and matrix row. */
  dim: number;
  /** Rows to leave out for query q (items seen in training, the query's own row, filtered-out rows). */
  skip?: (query: number, row: number) => boolean;
  /** Rows scoring below this are not returned. */
  minScore?: number;
  /** Use only the first `rowCount` rows of `matrix` (an index's matrix has spare capacity). */
  rowCount?: number;
}

/**
 * Bounded min-heap on (score, then -row): the root is the worst kept hit, so a better candidate replaces it
 * in O(log k) and a worse one costs one comparison.
 */
class TopKHeap {
  readonly rows: Int32Array;
  readonly scores: Float64Array;
  size = 0;

  constructor(readonly k: number) {
    this.rows = new Int32Array(k);
    this.scores = new Float64Array(k);
  }

  /** Is (s1, r1) worse than (s2, r2)? Lower score is worse; on equal scores the higher row is worse. */
  private worse(s1: number, r1: number, s2: number, r2: number): boolean {
    return s1 < s2 || (s1 === s2 && r1 > r2);
  }

  offer(row: number, score: number): void {
    if (Number.isNaN(score)) return; // NaN never ranks
    const { rows, scores, k } = this;
    if (this.size < k) {
      let i = this.size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(score, row, scores[parent]!, rows[parent]!)) break;
        rows[i] = rows[parent]!;
        scores[i] = scores[parent]!;
        i = parent;
      }
      rows[i] = row;
      scores[i] = score;
      return;
    }
    if (!this.worse(scores[0]!, rows[0]!, score, row)) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= k) break;
      const right = left + 1;
      let child = left;
      if (right < k && this.worse(scores[right]!, rows[right]!, scores[left]!, rows[left]!)) child = right;
      if (!this.worse(scores[child]!, rows[child]!, score, row)) break;
      rows[i] = rows[child]!;
      scores[i] = scores[child]!;
      i = child;
    }
    rows[i] = row;
    scores[i] = score;
  }

  /** Score a full heap must beat; -Infinity while it is still filling. */
  get threshold(): number {
    return this.size < this.k ? Number.NEGATIVE_INFINITY : this.scores[0]!;
  }

  sorted(minScore: number): TopKRows {
    const order = Array.from({ length: this.size }, (_, i) => i).sort(
      (a, b) => this.scores[b]! - this.scores[a]! || this.rows[a]! - this.rows[b]!,
    );
    const kept = order.filter((i) => this.scores[i]! >= minScore);
    return {
      rows: Int32Array.from(kept, (i) => this.rows[i]!),
      scores: Float64Array.from(kept, (i) => this.scores[i]!),
    };
  }
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`top-k: k must be an integer >= 1, got ${k}`);
}

/** Top k of precomputed scores (e.g. popularity), with the same heap and tie rule as `exactTopK`. */
export function topKOfScores(scores: ArrayLike<number>, k: number, skip?: (row: number) => boolean): TopKRows {
  checkK(k);
  const heap = new TopKHeap(k);
  for (let row = 0; row < scores.length; row++) {
    if (skip?.(row)) continue;
    heap.offer(row, scores[row]!);
  }
  return heap.sorted(Number.NEGATIVE_INFINITY);
}

/** Queries handled together against one matrix row, so each row value is loaded once for four dot products. */
const QUERY_GROUP = 4;
/** Bytes of matrix rows scanned by every query group before moving on: fits in L2, so rows are read from cache. */
const ROW_BLOCK_BYTES = 256 * 1024;

/**
 * Exact top-k by inner product: `queries` and `matrix` are row-major (`rows × dim`). Returns one `TopKRows`
 * per query. Blocked over matrix rows (cache) and over queries (register reuse); the per-query summation
 * order stays d = 0..dim-1.
 */
export function exactTopK(queries: Float32Array, matrix: Float32Array, k: number, options: ExactTopKOptions): TopKRows[] {
  const { dim, skip } = options;
  checkK(k);
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`exactTopK: dim must be an integer >= 1, got ${dim}`);
  if (queries.length % dim !== 0 || matrix.length % dim !== 0) {
    throw new RangeError(`exactTopK: lengths (queries ${queries.length}, matrix ${matrix.length}) must be multiples of dim ${dim}`);
  }
  const rowCount = options.rowCount ?? matrix.length / dim;
  if (!Number.isInteger(rowCount) || rowCount < 0 || rowCount * dim > matrix.length) {
    throw new RangeError(`exactTopK: rowCount ${rowCount} exceeds the matrix's ${matrix.length / dim} rows`);
  }
  const queryCount = queries.length / dim;
  const heaps = Array.from({ length: queryCount }, () => new TopKHeap(k));
  const rowBlock = Math.max(1, Math.floor(ROW_BLOCK_BYTES / (dim * 4)));

  for (let start = 0; start < rowCount; start += rowBlock) {
    const end = Math.min(rowCount, start + rowBlock);
    let q = 0;
    for (; q + QUERY_GROUP <= queryCount; q += QUERY_GROUP) {
      const o0 = q * dim;
      const o1 = o0 + dim;
      const o2 = o1 + dim;
      const o3 = o2 + dim;
      const h0 = heaps[q]!;
      const h1 = heaps[q + 1]!;
      const h2 = heaps[q + 2]!;
      const h3 = heaps[q + 3]!;
      for (let row = start; row < end; row++) {
        const ro = row * dim;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let d = 0; d < dim; d++) {
          const x = matrix[ro + d]!;
          s0 += queries[o0 + d]! * x;
          s1 += queries[o1 + d]! * x;
          s2 += queries[o2 + d]! * x;
          s3 += queries[o3 + d]! * x;
        }
        // Cheap rejection first; the heap decides ties (the lower row wins), the skip callback runs only for contenders.
        if (s0 >= h0.threshold && !skip?.(q, row)) h0.offer(row, s0);
        if (s1 >= h1.threshold && !skip?.(q + 1, row)) h1.offer(row, s1);
        if (s2 >= h2.threshold && !skip?.(q + 2, row)) h2.offer(row, s2);
        if (s3 >= h3.threshold && !skip?.(q + 3, row)) h3.offer(row, s3);
      }
    }
    for (; q < queryCount; q++) {
      const o = q * dim;
      const h = heaps[q]!;
      for (let row = start; row < end; row++) {
        const ro = row * dim;
        let s = 0;
        for (let d = 0; d < dim; d++) s += queries[o + d]! * matrix[ro + d]!;
        if (s >= h.threshold && !skip?.(q, row)) h.offer(row, s);
      }
    }
  }
  const minScore = options.minScore ?? Number.NEGATIVE_INFINITY;
  return heaps.map((h) => h.sorted(minScore));
}
