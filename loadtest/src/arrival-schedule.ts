// When each call of an open-model run is due: a piecewise-linear rate (k6's ramping-arrival-rate; a constant
// rate is one flat stage), integrated so call k is due when the expected number of arrivals reaches k.
import type { RateStage } from "./load-scenarios.js";

interface Segment {
  startMs: number;
  durationMs: number;
  /** Rate at the segment's start and end, calls per millisecond. */
  fromPerMs: number;
  toPerMs: number;
  /** Arrivals expected before the segment starts. */
  before: number;
}

export class ArrivalSchedule {
  private readonly segments: Segment[] = [];
  /** Calls the schedule holds in total. */
  readonly total: number;
  readonly durationMs: number;

  constructor(startRatePerSec: number, stages: readonly RateStage[]) {
    let at = 0;
    let before = 0;
    let from = startRatePerSec / 1000;
    for (const stage of stages) {
      if (!(stage.durationMs > 0) || !(stage.target >= 0)) {
        throw new Error(`a stage needs durationMs > 0 and target >= 0, got ${JSON.stringify(stage)}`);
      }
      const to = stage.target / 1000;
      this.segments.push({ startMs: at, durationMs: stage.durationMs, fromPerMs: from, toPerMs: to, before });
      before += ((from + to) / 2) * stage.durationMs;
      at += stage.durationMs;
      from = to;
    }
    this.durationMs = at;
    // Call k is due when the expected count reaches k, so k = 0 starts at once and a count of 100.0 holds 100 calls.
    this.total = Math.ceil(before - 1e-9);
  }

  static constant(ratePerSec: number, durationMs: number): ArrivalSchedule {
    return new ArrivalSchedule(ratePerSec, [{ durationMs, target: ratePerSec }]);
  }

  /** Milliseconds from the start at which call k (0-based, k < total) is due. */
  dueAtMs(k: number): number {
    let segment = this.segments[0]!;
    for (const s of this.segments) {
      if (s.before <= k) segment = s;
      else break;
    }
    // Solve before + from·t + (to − from)·t²/(2·d) = k for t in the segment; this form stays stable when the
    // rate is flat (a = 0) or falling (a < 0, where the smaller root is the one inside the segment).
    const a = (segment.toPerMs - segment.fromPerMs) / (2 * segment.durationMs);
    const m = k - segment.before;
    const root = Math.sqrt(Math.max(0, segment.fromPerMs * segment.fromPerMs + 4 * a * m));
    const denominator = segment.fromPerMs + root;
    const t = m === 0 ? 0 : denominator > 0 ? (2 * m) / denominator : segment.durationMs;
    return segment.startMs + Math.min(t, segment.durationMs);
  }
}
