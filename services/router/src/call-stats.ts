// Counts of one stream of forwarded calls (a variant, or an experiment's shadow target): calls, errors by
// status, a latency histogram since the start, and a window of recent calls for the guardrails.
import * as hdr from "hdr-histogram-js";

export interface LatencyFigures {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

export interface WindowFigures {
  calls: number;
  errors: number;
  p99Ms: number;
}

// Recent calls kept for the guardrail window; more than any realistic minCalls, small enough to sort often.
const WINDOW_CAPACITY = 8_192;

export class CallStats {
  calls = 0;
  errors = 0;
  readonly errorsByCode = new Map<string, number>();
  // Microseconds, 3 significant digits: percentiles to 0.1 %, a few KB per variant.
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false });
  private readonly recentAt = new Float64Array(WINDOW_CAPACITY);
  private readonly recentMs = new Float64Array(WINDOW_CAPACITY);
  private readonly recentFailed = new Uint8Array(WINDOW_CAPACITY);
  private next = 0;
  private filled = 0;

  /** One finished call; `code` is the gRPC status name. */
  record(code: string, latencyMs: number, now = Date.now()): void {
    this.calls++;
    const failed = code !== "OK";
    if (failed) {
      this.errors++;
      this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + 1);
    }
    this.histogram.recordValue(Math.max(1, Math.round(latencyMs * 1_000)));
    this.recentAt[this.next] = now;
    this.recentMs[this.next] = latencyMs;
    this.recentFailed[this.next] = failed ? 1 : 0;
    this.next = (this.next + 1) % WINDOW_CAPACITY;
    this.filled = Math.min(this.filled + 1, WINDOW_CAPACITY);
  }

  latency(): LatencyFigures {
    if (this.calls === 0) return { p50Ms: 0, p95Ms: 0, p99Ms: 0, meanMs: 0, maxMs: 0 };
    const ms = (micros: number) => micros / 1_000;
    return {
      p50Ms: ms(this.histogram.getValueAtPercentile(50)),
      p95Ms: ms(this.histogram.getValueAtPercentile(95)),
      p99Ms: ms(this.histogram.getValueAtPercentile(99)),
      meanMs: ms(this.histogram.mean),
      maxMs: ms(this.histogram.maxValue),
    };
  }

  /** Calls, errors and p99 of the calls that finished in the last `windowMs`. */
  window(windowMs: number, now = Date.now()): WindowFigures {
    const since = now - windowMs;
    const latencies: number[] = [];
    let errors = 0;
    for (let i = 0; i < this.filled; i++) {
      if (this.recentAt[i]! < since) continue;
      latencies.push(this.recentMs[i]!);
      errors += this.recentFailed[i]!;
    }
    latencies.sort((a, b) => a - b);
    const p99Ms = latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)]!;
    return { calls: latencies.length, errors, p99Ms };
  }
}

/** Why a window breaches the guardrails, or undefined if it does not (or has too few calls to tell). */
export function guardrailBreach(window: WindowFigures, bounds: { maxErrorRate: number; maxP99Ms: number; minCalls: number }): string | undefined {
  if (window.calls < bounds.minCalls) return undefined;
  const errorRate = window.errors / window.calls;
  if (errorRate > bounds.maxErrorRate) return `error rate ${errorRate.toFixed(3)} > ${bounds.maxErrorRate} over ${window.calls} calls`;
  if (window.p99Ms > bounds.maxP99Ms) return `p99 ${window.p99Ms.toFixed(1)} ms > ${bounds.maxP99Ms} ms over ${window.calls} calls`;
  return undefined;
}
