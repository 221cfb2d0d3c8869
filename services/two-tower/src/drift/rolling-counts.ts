// Counts per bin over the most recent rows only: a ring of segments, each holding the counts of
// `windowRows / segments` consecutive rows. When the newest segment is full the oldest is subtracted from the
// totals and reused, so the totals always cover between windowRows − windowRows/segments and windowRows rows.
// No raw value is kept: a row is a list of bin indices, and it only ever adds 1 to a few numbers.

export interface RollingCountsOptions {
  /** Bins in all (the histograms of every feature laid end to end). */
  bins: number;
  /** Rows the window holds at most. */
  windowRows: number;
  /** Segments of the ring: more segments, a smoother slide, more memory (bins × segments numbers). */
  segments?: number;
}

export class RollingCounts {
  private readonly segmentRows: number;
  private readonly ring: Float64Array[];
  private readonly rowsPerSegment: Int32Array;
  /** Sum of every segment, kept up to date so reading the window costs nothing. */
  readonly totals: Float64Array;
  private current = 0;
  private rows = 0;
  /** Rows observed since the start, window or not. */
  observed = 0;

  constructor(options: RollingCountsOptions) {
    const segments = options.segments ?? 10;
    if (!Number.isInteger(options.windowRows) || options.windowRows < segments) {
      throw new RangeError(`rolling window must hold at least ${segments} rows (one per segment), got ${options.windowRows}`);
    }
    this.segmentRows = Math.ceil(options.windowRows / segments);
    this.ring = Array.from({ length: segments }, () => new Float64Array(options.bins));
    this.rowsPerSegment = new Int32Array(segments);
    this.totals = new Float64Array(options.bins);
  }

  /** Rows the totals cover now. */
  get windowRows(): number {
    return this.rows;
  }

  get capacity(): number {
    return this.segmentRows * this.ring.length;
  }

  /** Counts one row: 1 added to each listed bin (a bin may be listed more than once). */
  observe(bins: ArrayLike<number>): void {
    if (this.rowsPerSegment[this.current] === this.segmentRows) this.rotate();
    const segment = this.ring[this.current]!;
    for (let i = 0; i < bins.length; i++) {
      const bin = bins[i]!;
      segment[bin]!++;
      this.totals[bin]!++;
    }
    this.rowsPerSegment[this.current]!++;
    this.rows++;
    this.observed++;
  }

  private rotate(): void {
    this.current = (this.current + 1) % this.ring.length;
    const oldest = this.ring[this.current]!;
    for (let i = 0; i < oldest.length; i++) {
      if (oldest[i] !== 0) {
        this.totals[i]! -= oldest[i]!;
        oldest[i] = 0;
      }
    }
    this.rows -= this.rowsPerSegment[this.current]!;
    this.rowsPerSegment[this.current] = 0;
  }
}
