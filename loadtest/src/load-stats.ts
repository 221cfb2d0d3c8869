// Per-run accounting: an HDR latency histogram (3 significant digits, microsecond units, so a p99 is exact
// to 0.1% however many calls were made) plus counts by gRPC status name.
import * as hdr from "hdr-histogram-js";

export interface LatencySummary {
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface CallCounts {
  /** Calls that finished (OK or not). */
  requests: number;
  ok: number;
  errors: number;
  /** errors / requests, 0 when nothing ran. */
  errorRate: number;
  /** Calls by final status name: "OK", "UNAVAILABLE", ... ("CLIENT_ERROR" for a throw that carried no gRPC code). */
  codes: Record<string, number>;
  /** First message seen per non-OK status, so a report says what went wrong, not only how often. */
  errorSamples: Record<string, string>;
  /** Latency of every finished call, OK or not (as k6's grpc_req_duration). */
  latencyMs: LatencySummary;
}

export class LoadStats {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false });
  private readonly codes = new Map<string, number>();
  private readonly samples = new Map<string, string>();

  record(code: string, latencyMs: number, message?: string): void {
    this.histogram.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    if (message !== undefined && !this.samples.has(code)) this.samples.set(code, message);
  }

  get requests(): number {
    return this.histogram.totalCount;
  }

  get errors(): number {
    return this.requests - (this.codes.get("OK") ?? 0);
  }

  summary(): CallCounts {
    const h = this.histogram;
    const ms = (us: number) => Math.round(us) / 1000;
    const count = h.totalCount;
    const ok = this.codes.get("OK") ?? 0;
    return {
      requests: count,
      ok,
      errors: count - ok,
      errorRate: count === 0 ? 0 : (count - ok) / count,
      codes: Object.fromEntries([...this.codes].sort(([a], [b]) => a.localeCompare(b))),
      errorSamples: Object.fromEntries(this.samples),
      latencyMs: {
        count,
        minMs: count === 0 ? 0 : ms(h.minNonZeroValue),
        meanMs: count === 0 ? 0 : ms(h.mean),
        p50Ms: ms(h.getValueAtPercentile(50)),
        p90Ms: ms(h.getValueAtPercentile(90)),
        p95Ms: ms(h.getValueAtPercentile(95)),
        p99Ms: ms(h.getValueAtPercentile(99)),
        p999Ms: ms(h.getValueAtPercentile(99.9)),
        maxMs: ms(h.maxValue),
      },
    };
  }
}
