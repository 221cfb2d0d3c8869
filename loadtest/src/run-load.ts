// The load generator's engine: drives any async call in an open model (arrival rate, constant or ramping,
// calls start on schedule whatever the latency) or a closed model (fixed concurrency), and reports latency
// percentiles, throughput and outcomes by gRPC status. Other packages' benchmarks call runLoad directly.
import { ArrivalSchedule } from "./arrival-schedule.js";
import type { RateStage } from "./load-scenarios.js";
import { LoadStats, type CallCounts } from "./load-stats.js";
import { statusName } from "./status-name.js";

export type LoadMode =
  /** Closed model: this many callers, each starting its next call when the previous one settles. */
  | { concurrency: number }
  /** Open model at a constant rate. */
  | { ratePerSec: number }
  /** Open model, rate changing linearly stage by stage (k6 ramping-arrival-rate). */
  | { startRatePerSec: number; stages: readonly RateStage[] };

export interface LoadOptions {
  /** One call. i counts calls across warm-up and measurement (request builders use it). Reject = failed call. */
  call: (i: number) => Promise<unknown>;
  mode: LoadMode;
  /** Measured window; required unless `requests` is given or the mode has stages (their sum is the window). */
  durationMs?: number;
  /** Stop after starting this many measured calls. */
  requests?: number;
  /** Same mode first for this long, results discarded (connections, JIT, caches). */
  warmupMs?: number;
  /** Open model: an arrival that finds this many calls in flight is dropped and counted, as k6 does. */
  maxInFlight?: number;
  /** Breakdown key for call i, e.g. its method; each key gets its own counts and percentiles. */
  group?: (i: number) => string;
  /** Called about twice a second during the measured window. */
  onProgress?: (progress: LoadProgress) => void;
  /**
   * Called right before the first measured call starts and right after the last one settled, so a caller can
   * read counters (e.g. a server's CPU time) over exactly the calls the result counts (warm-up excluded).
   */
  onMeasureStart?: () => void;
  onMeasureEnd?: () => void;
}

export interface LoadProgress {
  elapsedMs: number;
  plannedMs: number | undefined;
  completed: number;
  errors: number;
  inFlight: number;
}

export interface LoadResult extends CallCounts {
  model: "open" | "closed";
  concurrency?: number;
  /** Open model: calls the schedule offered per second over the window. */
  offeredRatePerSec?: number;
  /** From the first call's start to the last call's end. */
  elapsedMs: number;
  /** Finished calls per second over elapsedMs. */
  throughputPerSec: number;
  /** Open model: arrivals not started because maxInFlight calls were already running. */
  dropped: number;
  /**
   * Open model: how late calls started against their schedule (p99, max). Latency is timed from the actual
   * start, so a large lag means the generator, not the server, was the bottleneck and the rate was not held.
   */
  scheduleLagMs?: { p99Ms: number; maxMs: number };
  groups?: Record<string, CallCounts>;
}

const DEFAULT_MAX_IN_FLIGHT = 10_000;

/** Runs the load and resolves once every started call has settled. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  validate(options);
  let next = 0;
  const counter = () => next++;
  if (options.warmupMs && options.warmupMs > 0) {
    await drive(options, warmupMode(options.mode), options.warmupMs, undefined, counter, new Recorder(undefined), undefined);
  }
  const recorder = new Recorder(options.group);
  options.onMeasureStart?.();
  const result = await drive(options, options.mode, options.durationMs, options.requests, counter, recorder, options.onProgress);
  options.onMeasureEnd?.();
  return result;
}

function validate(options: LoadOptions): void {
  const { mode } = options;
  if ("concurrency" in mode && !(Number.isInteger(mode.concurrency) && mode.concurrency >= 1)) {
    throw new Error(`concurrency must be an integer >= 1, got ${mode.concurrency}`);
  }
  if ("ratePerSec" in mode && !(mode.ratePerSec > 0)) throw new Error(`ratePerSec must be > 0, got ${mode.ratePerSec}`);
  if ("stages" in mode && mode.stages.length === 0) throw new Error("a ramping mode needs at least one stage");
  if (!("stages" in mode) && options.durationMs === undefined && options.requests === undefined) {
    throw new Error("give durationMs or requests (or stages) so the run ends");
  }
  if (options.requests !== undefined && !(Number.isInteger(options.requests) && options.requests >= 1)) {
    throw new Error(`requests must be an integer >= 1, got ${options.requests}`);
  }
}

function warmupMode(mode: LoadMode): LoadMode {
  if ("stages" in mode) return { ratePerSec: Math.max(1, mode.startRatePerSec, mode.stages[0]!.target) };
  return mode;
}

class Recorder {
  readonly all = new LoadStats();
  private readonly groups = new Map<string, LoadStats>();
  readonly lag = new LoadStats();

  constructor(private readonly groupOf: ((i: number) => string) | undefined) {}

  async time(call: (i: number) => Promise<unknown>, i: number): Promise<void> {
    const started = performance.now();
    let code = "OK";
    let message: string | undefined;
    try {
      await call(i);
    } catch (error) {
      code = statusName(error);
      message = error instanceof Error ? error.message : String(error);
    }
    const latency = performance.now() - started;
    this.all.record(code, latency, message);
    if (this.groupOf) {
      const key = this.groupOf(i);
      const stats = this.groups.get(key) ?? new LoadStats();
      this.groups.set(key, stats);
      stats.record(code, latency, message);
    }
  }

  groupSummaries(): Record<string, CallCounts> | undefined {
    if (!this.groupOf) return undefined;
    return Object.fromEntries([...this.groups].sort(([a], [b]) => a.localeCompare(b)).map(([key, stats]) => [key, stats.summary()]));
  }
}

async function drive(
  options: LoadOptions,
  mode: LoadMode,
  durationMs: number | undefined,
  requests: number | undefined,
  nextIndex: () => number,
  recorder: Recorder,
  onProgress: ((progress: LoadProgress) => void) | undefined,
): Promise<LoadResult> {
  const start = performance.now();
  let end = start;
  let inFlight = 0;
  const plannedMs = "stages" in mode ? new ArrivalSchedule(mode.startRatePerSec, mode.stages).durationMs : durationMs;
  const progress = onProgress
    ? setInterval(() => {
        onProgress({ elapsedMs: performance.now() - start, plannedMs, completed: recorder.all.requests, errors: recorder.all.errors, inFlight });
      }, 500)
    : undefined;
  const track = (i: number): Promise<void> => {
    inFlight++;
    return recorder.time(options.call, i).finally(() => {
      inFlight--;
      end = performance.now();
    });
  };

  try {
    if ("concurrency" in mode) {
      const stopAt = durationMs === undefined ? Number.POSITIVE_INFINITY : start + durationMs;
      let started = 0;
      const worker = async () => {
        while (performance.now() < stopAt && (requests === undefined || started < requests)) {
          started++;
          await track(nextIndex());
        }
      };
      await Promise.all(Array.from({ length: mode.concurrency }, worker));
      return finish(recorder, start, end, { model: "closed", concurrency: mode.concurrency, dropped: 0 });
    }

    const schedule =
      "stages" in mode
        ? new ArrivalSchedule(mode.startRatePerSec, mode.stages)
        : ArrivalSchedule.constant(mode.ratePerSec, durationMs ?? (requests! / mode.ratePerSec) * 1000);
    const total = Math.min(schedule.total, requests ?? Number.POSITIVE_INFINITY);
    const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    const pending = new Set<Promise<void>>();
    let dropped = 0;
    let k = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now() - start;
        while (k < total && schedule.dueAtMs(k) <= now) {
          recorder.lag.record("OK", now - schedule.dueAtMs(k));
          k++;
          if (inFlight >= maxInFlight) {
            dropped++;
            continue;
          }
          const call = track(nextIndex());
          pending.add(call);
          call.finally(() => pending.delete(call));
        }
        if (k >= total) resolve();
        else setTimeout(tick, Math.max(0, schedule.dueAtMs(k) - (performance.now() - start)));
      };
      tick();
    });
    await Promise.all(pending);
    const lag = recorder.lag.summary().latencyMs;
    return finish(recorder, start, end, {
      model: "open",
      offeredRatePerSec: schedule.durationMs > 0 ? (schedule.total / schedule.durationMs) * 1000 : 0,
      dropped,
      scheduleLagMs: { p99Ms: lag.p99Ms, maxMs: lag.maxMs },
    });
  } finally {
    if (progress) clearInterval(progress);
  }
}

function finish(recorder: Recorder, start: number, end: number, extra: Pick<LoadResult, "model" | "dropped"> & Partial<LoadResult>): LoadResult {
  const counts = recorder.all.summary();
  const elapsedMs = Math.max(0, end - start);
  const groups = recorder.groupSummaries();
  return {
    ...extra,
    ...counts,
    elapsedMs: Math.round(elapsedMs * 1000) / 1000,
    throughputPerSec: elapsedMs > 0 ? (counts.requests / elapsedMs) * 1000 : 0,
    ...(groups ? { groups } : {}),
  };
}
