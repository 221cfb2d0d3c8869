// A minimal closed-loop load generator: `concurrency` callers, each issuing its next call as soon as the last
// one answered, for a fixed time after a warm-up. Kept to one small interface (call in, figures out) so the
// shared @funnel/loadtest generator can replace it without touching the scenarios.

export interface ClosedLoopOptions {
  concurrency: number;
  /** Calls during the warm-up (connection set-up, JIT, thread pools) are made but not counted. */
  warmupMs: number;
  durationMs: number;
  call: () => Promise<void>;
  /** Called when the measured window opens and when it closes (e.g. to read CPU counters). */
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}

export interface ClosedLoopResult {
  concurrency: number;
  /** Successful calls that completed inside the measured window. */
  calls: number;
  errors: number;
  firstError?: string;
  seconds: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Latency of every counted call, ascending (for pooling runs). */
  latenciesMs: Float64Array;
}

export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const { concurrency, warmupMs, durationMs, call } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be an integer >= 1, got ${concurrency}`);
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const measureFrom = performance.now() + warmupMs;
  const measureTo = measureFrom + durationMs;
  let windowEnded = false;
  const endWindow = () => {
    if (windowEnded) return;
    windowEnded = true;
    options.onWindowEnd?.();
  };
  const startTimer = setTimeout(() => options.onWindowStart?.(), warmupMs);
  const endTimer = setTimeout(endWindow, warmupMs + durationMs);
  const caller = async (): Promise<void> => {
    for (let started = performance.now(); started < measureTo; started = performance.now()) {
      let failure: unknown;
      try {
        await call();
      } catch (error) {
        failure = error ?? "error";
      }
      const ended = performance.now();
      // Throughput is completions inside the window (the steady state), whenever the call started.
      if (ended < measureFrom || ended > measureTo) continue;
      if (failure === undefined) latencies.push(ended - started);
      else {
        errors++;
        firstError ??= failure instanceof Error ? failure.message : String(failure);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, caller));
  } finally {
    clearTimeout(startTimer);
    clearTimeout(endTimer);
  }
  // The callers stop issuing at measureTo; a busy event loop may have delayed the timer past that.
  endWindow();
  const seconds = durationMs / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    concurrency,
    calls: sorted.length,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    seconds,
    callsPerSecond: sorted.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    latenciesMs: sorted,
  };
}

/** Nearest-rank percentile of ascending values (NaN when empty). */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
