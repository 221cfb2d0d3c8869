// A sampled, bounded, asynchronous JSON-lines log beside the serving path (e.g. served recommendations for the
// outcome join). A call only ever pays for a coin flip and, when sampled, an array push: records wait in a
// bounded queue and one background loop appends them in batches. When the queue is full the record is
// dropped and counted, never waited for; a failed write is logged and its records counted as failed.
// Files rotate by UTC day and by size: `<prefix>-YYYY-MM-DD.jsonl`, then `<prefix>-YYYY-MM-DD.1.jsonl`, ...
// (own code rather than a rotating stream library: a Writable buffers without bound when the disk is slow,
// and the bound is the point here).
import { appendFile, mkdir, readdir, stat } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";

export interface JsonLinesLogOptions {
  /** Log name: the `log` label of its metrics and the file prefix, e.g. "served-recommendations". */
  name: string;
  /** Directory of the files (created when missing). */
  dir: string;
  /** Share of offered records kept, 0..1 (1: all). */
  sampleRate: number;
  /** Records waiting to be written beyond which new ones are dropped. */
  maxQueue: number;
  /** A file past this size is closed and the next record starts `<prefix>-<day>.<n+1>.jsonl`. */
  maxFileBytes: number;
  /** Records per append. */
  maxBatch?: number;
  registry: Registry;
  log: Logger;
  /** For tests: the sampling coin and the clock the day of a file comes from. */
  random?: () => number;
  now?: () => Date;
}

/** What happened to offered records; the values of the `result` label. */
export type JsonLinesLogResult = "written" | "sampled_out" | "dropped_queue_full" | "write_failed";

const DEFAULT_MAX_BATCH = 512;

/** Counts per log name: several logs (or test servers) in one registry share the metric objects. */
function metricsIn(registry: Registry) {
  const records =
    (registry.getSingleMetric("funnel_log_records_total") as Counter<"log" | "result"> | undefined) ??
    new Counter({
      name: "funnel_log_records_total",
      help: "Records offered to a sampled JSON-lines log (e.g. served recommendations), by log and result: written, sampled_out, dropped_queue_full (the bounded queue was full; the call did not wait), write_failed.",
      labelNames: ["log", "result"] as const,
      registers: [registry],
    });
  const queued =
    (registry.getSingleMetric("funnel_log_queue_records") as Gauge<"log"> | undefined) ??
    new Gauge({
      name: "funnel_log_queue_records",
      help: "Records waiting in a JSON-lines log's bounded queue, by log.",
      labelNames: ["log"] as const,
      registers: [registry],
    });
  return { records, queued };
}

export class JsonLinesLog<T> {
  private queue: T[] = [];
  private draining: Promise<void> | undefined;
  private closed = false;
  private file: { day: string; index: number; bytes: number } | undefined;
  private readonly metrics: ReturnType<typeof metricsIn>;
  private readonly random: () => number;
  private readonly now: () => Date;
  private readonly counts: Record<JsonLinesLogResult, number> = { written: 0, sampled_out: 0, dropped_queue_full: 0, write_failed: 0 };

  constructor(private readonly options: JsonLinesLogOptions) {
    if (!(options.sampleRate >= 0 && options.sampleRate <= 1)) throw new RangeError(`${options.name}: sample rate must be in [0, 1], got ${options.sampleRate}`);
    if (!(options.maxQueue >= 1)) throw new RangeError(`${options.name}: the queue must hold at least 1 record, got ${options.maxQueue}`);
    this.metrics = metricsIn(options.registry);
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => new Date());
    for (const result of Object.keys(this.counts) as JsonLinesLogResult[]) this.metrics.records.inc({ log: options.name, result }, 0);
    this.metrics.queued.set({ log: options.name }, 0);
  }

  /** Counts by result since start (the metric's values for this log). */
  get results(): Readonly<Record<JsonLinesLogResult, number>> {
    return this.counts;
  }

  /**
   * Offers one record; returns at once. `record` is a function so an unsampled call never builds it.
   * After close() records are dropped (counted as dropped_queue_full).
   */
  offer(record: () => T): void {
    if (this.options.sampleRate < 1 && this.random() >= this.options.sampleRate) {
      this.count("sampled_out", 1);
      return;
    }
    if (this.closed || this.queue.length >= this.options.maxQueue) {
      this.count("dropped_queue_full", 1);
      return;
    }
    this.queue.push(record());
    this.metrics.queued.set({ log: this.options.name }, this.queue.length);
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  /** Resolves once every record queued so far is written (or counted as failed). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Stops accepting records and writes what is queued. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private count(result: JsonLinesLogResult, n: number): void {
    this.counts[result] += n;
    this.metrics.records.inc({ log: this.options.name, result }, n);
  }

  private async drain(): Promise<void> {
    // Started from offer(): yield first so the call that queued the record returns before any I/O starts.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch ?? DEFAULT_MAX_BATCH);
      this.metrics.queued.set({ log: this.options.name }, this.queue.length);
      let text = "";
      for (const record of batch) text += `${JSON.stringify(record)}\n`;
      try {
        const file = await this.fileFor(Buffer.byteLength(text));
        await appendFile(file, text);
        this.count("written", batch.length);
      } catch (error) {
        this.count("write_failed", batch.length);
        this.options.log.error({ err: error, log: this.options.name, records: batch.length }, "writing log records failed; they are counted as write_failed");
      }
    }
  }

  /** The file the next `bytes` go to: today's, or the next index once the current one is full. */
  private async fileFor(bytes: number): Promise<string> {
    const day = this.now().toISOString().slice(0, 10);
    if (this.file?.day !== day) {
      await mkdir(this.options.dir, { recursive: true });
      this.file = await this.lastFileOf(day);
    }
    if (this.file.bytes > 0 && this.file.bytes + bytes > this.options.maxFileBytes) this.file = { day, index: this.file.index + 1, bytes: 0 };
    this.file.bytes += bytes;
    return this.pathOf(this.file.day, this.file.index);
  }

  /** After a restart, appends to the day's last file rather than writing over or beside it. */
  private async lastFileOf(day: string): Promise<{ day: string; index: number; bytes: number }> {
    const prefix = `${this.options.name}-${day}`;
    let index = 0;
    for (const name of await readdir(this.options.dir)) {
      const match = name.startsWith(prefix) ? /^\.(?:(\d+)\.)?jsonl$/.exec(name.slice(prefix.length)) : null;
      if (match) index = Math.max(index, Number(match[1] ?? 0));
    }
    const bytes = await stat(this.pathOf(day, index)).then((s) => s.size, () => 0);
    return { day, index, bytes };
  }

  private pathOf(day: string, index: number): string {
    return path.join(this.options.dir, `${this.options.name}-${day}${index === 0 ? "" : `.${index}`}.jsonl`);
  }
}
