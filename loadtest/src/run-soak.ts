// A soak: a steady open-model load over every funnel.v1 service for a long time, with the server's memory
// sampled from its Prometheus endpoint, so a leak (memory still climbing late in the run) shows up before
// production finds it. Throughput and latency come from the same runLoad engine as `npm run loadtest`.
import os from "node:os";
import { grpcMixCaller, type GrpcMixCaller } from "./grpc-mix-caller.js";
import type { CallCounts } from "./load-stats.js";
import { memoryTrend, type MemorySample, type MemoryTrend } from "./memory-trend.js";
import { SERVICE_NAMES, serviceMix, type MixOptions } from "./request-mixes.js";
import { runLoad } from "./run-load.js";

export interface SoakOptions {
  /** gRPC address of the embedded platform (every service on one port). */
  target: string;
  /** Its Prometheus endpoint, e.g. http://127.0.0.1:9464/metrics (process RSS and V8 heap are read from it). */
  metricsUrl: string;
  durationMs: number;
  /** Calls per second, spread evenly over the four services. */
  ratePerSec: number;
  /** How often memory and throughput are sampled. */
  sampleMs: number;
  deadlineMs: number;
  mix: MixOptions;
  /** Largest RSS growth over the last half still called level, MiB per minute. */
  toleranceMiBPerMin: number;
  warmupMs?: number;
  /**
   * Distinct requests per service, replayed in turn (default 2000). A soak must reach a steady state: with
   * endless new requests the response caches grow until full, which looks like a leak for as long as it lasts.
   */
  distinctRequests?: number;
  onSample?: (sample: SoakSample, elapsedMs: number) => void;
}

export interface SoakSample extends MemorySample {
  /**
   * Calls finished in the interval that ended at this sample, per second; 0 for the first sample, taken as the
   * measurement starts, which ends no interval (a few warm-up calls over microseconds read as thousands a second).
   */
  throughputPerSec: number;
  /** Failed calls in that interval. */
  errors: number;
  /** The machine's 1-minute load average: latency on a shared machine is read against it. */
  loadAverage: number;
}

export interface SoakReport {
  soak: { target: string; metricsUrl: string; durationMs: number; ratePerSec: number; sampleMs: number; deadlineMs: number; distinctRequests: number; services: readonly string[]; cpus: number };
  throughputPerSec: number;
  result: CallCounts;
  /** Per "Service/Method". */
  groups: Record<string, CallCounts>;
  samples: SoakSample[];
  memory: MemoryTrend;
}

/** Process RSS and V8 heap in use, from the runtime's default Node metrics (prefix funnel_). */
export async function readServerMemory(metricsUrl: string): Promise<{ rssBytes: number; heapUsedBytes: number }> {
  const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`${metricsUrl}: HTTP ${response.status}`);
  const text = await response.text();
  const value = (name: string): number => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, "m").exec(text);
    if (!match) throw new Error(`${metricsUrl} has no ${name} metric`);
    return Number(match[1]);
  };
  return { rssBytes: value("funnel_process_resident_memory_bytes"), heapUsedBytes: value("funnel_nodejs_heap_size_used_bytes") };
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const callers: GrpcMixCaller[] = SERVICE_NAMES.map((service) =>
    grpcMixCaller({ target: options.target, mix: serviceMix(service, options.mix), deadlineMs: options.deadlineMs, distinctRequests: options.distinctRequests ?? 2_000 }),
  );
  const callerOf = (i: number) => ({ caller: callers[i % callers.length]!, j: Math.floor(i / callers.length) });
  let finished = 0;
  let failed = 0;
  const samples: SoakSample[] = [];
  let sampler: NodeJS.Timeout | undefined;
  let startedAt = 0;
  let last = { at: 0, finished: 0, failed: 0 };
  const sample = async () => {
    const now = performance.now();
    const memory = await readServerMemory(options.metricsUrl);
    const seconds = (now - last.at) / 1000;
    const next: SoakSample = {
      atSeconds: Math.round((now - startedAt) / 100) / 10,
      ...memory,
      throughputPerSec: samples.length === 0 ? 0 : Math.round(((finished - last.finished) / seconds) * 10) / 10,
      errors: failed - last.failed,
      loadAverage: Math.round(os.loadavg()[0]! * 100) / 100,
    };
    last = { at: now, finished, failed };
    samples.push(next);
    options.onSample?.(next, now - startedAt);
  };
  try {
    const result = await runLoad({
      call: async (i) => {
        const { caller, j } = callerOf(i);
        try {
          await caller.call(j);
        } catch (error) {
          failed++;
          throw error;
        } finally {
          finished++;
        }
      },
      group: (i) => callerOf(i).caller.method(callerOf(i).j),
      mode: { ratePerSec: options.ratePerSec },
      durationMs: options.durationMs,
      warmupMs: options.warmupMs ?? 2_000,
      onMeasureStart: () => {
        startedAt = performance.now();
        last = { at: startedAt, finished, failed };
        void sample().catch(() => undefined);
        sampler = setInterval(() => void sample().catch(() => undefined), options.sampleMs);
      },
      onMeasureEnd: () => clearInterval(sampler),
    });
    await sample();
    const { groups, ...counts } = result;
    return {
      soak: {
        target: options.target,
        metricsUrl: options.metricsUrl,
        durationMs: options.durationMs,
        ratePerSec: options.ratePerSec,
        sampleMs: options.sampleMs,
        deadlineMs: options.deadlineMs,
        distinctRequests: options.distinctRequests ?? 2_000,
        services: SERVICE_NAMES,
        cpus: os.cpus().length,
      },
      throughputPerSec: result.throughputPerSec,
      result: {
        requests: counts.requests,
        ok: counts.ok,
        errors: counts.errors,
        errorRate: counts.errorRate,
        codes: counts.codes,
        errorSamples: counts.errorSamples,
        latencyMs: counts.latencyMs,
      },
      groups: groups ?? {},
      samples,
      memory: memoryTrend(samples, options.toleranceMiBPerMin),
    };
  } finally {
    clearInterval(sampler);
    for (const caller of callers) caller.close();
  }
}
