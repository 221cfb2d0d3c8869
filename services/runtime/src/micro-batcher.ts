// Collects single requests into batches for a model that is cheaper per item in batches (Triton-style
// dynamic batching). A batch runs when it reaches maxBatchSize; otherwise, while the model is idle, at the
// end of the current event-loop turn (so items submitted together run together and a lone call pays no
// delay), and while a batch is running, when that batch finishes or the oldest item has waited maxDelayMs.
import { ResourceExhaustedError } from "./errors.js";

export interface MicroBatcherOptions<In, Out> {
  maxBatchSize: number;
  maxDelayMs: number;
  /** Largest number of items waiting; beyond it submit() rejects at once (back-pressure, not unbounded memory). */
  maxQueue?: number;
  /** Retry hint sent with QueueFullError; default twice maxDelayMs, at least 10 ms. */
  retryAfterMs?: number;
  /** Must return exactly one result per input, in order; a per-item Error fails only that item. */
  run: (inputs: In[]) => Promise<(Out | Error)[]>;
}

interface Pending<In, Out> {
  input: In;
  resolve: (value: Out) => void;
  reject: (error: unknown) => void;
  signal?: AbortSignal;
}

/** Thrown by submit() when the queue is full. gRPC: RESOURCE_EXHAUSTED, with a retry hint (grpc-retry-pushback-ms). */
export class QueueFullError extends ResourceExhaustedError {}

export class MicroBatcher<In, Out> {
  private queue: Pending<In, Out>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private running = 0;

  constructor(private readonly options: MicroBatcherOptions<In, Out>) {
    if (options.maxBatchSize < 1) throw new RangeError("maxBatchSize must be at least 1");
  }

  /** Items waiting for a batch. */
  get queued(): number {
    return this.queue.length;
  }

  /** Batches currently executing. */
  get active(): number {
    return this.running;
  }

  submit(input: In, signal?: AbortSignal): Promise<Out> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const maxQueue = this.options.maxQueue ?? Number.POSITIVE_INFINITY;
    if (this.queue.length >= maxQueue) {
      const retryAfterMs = this.options.retryAfterMs ?? Math.max(10, 2 * this.options.maxDelayMs);
      return Promise.reject(new QueueFullError(`server is over capacity: batch queue is full (${maxQueue} waiting); retry in about ${retryAfterMs} ms`, { retryAfterMs }));
    }
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ input, resolve, reject, signal });
      if (this.queue.length >= this.options.maxBatchSize) this.flush();
      else if (this.running === 0) this.immediate ??= setImmediate(() => this.flush());
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxDelayMs);
    });
  }

  /** Runs everything queued now, in batches of at most maxBatchSize. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatchSize);
      void this.execute(batch);
    }
  }

  private async execute(batch: Pending<In, Out>[]): Promise<void> {
    // Items whose caller already gave up are answered with their abort reason and not computed.
    const live = batch.filter((item) => {
      if (item.signal?.aborted) item.reject(item.signal.reason);
      return !item.signal?.aborted;
    });
    if (live.length === 0) return;
    this.running++;
    try {
      const results = await this.options.run(live.map((item) => item.input));
      if (results.length !== live.length) {
        throw new Error(`batch function returned ${results.length} results for ${live.length} inputs`);
      }
      live.forEach((item, i) => {
        const result = results[i] as Out | Error;
        if (result instanceof Error) item.reject(result);
        else item.resolve(result);
      });
    } catch (error) {
      for (const item of live) item.reject(error);
    } finally {
      this.running--;
      // Items that queued while this batch ran have waited long enough: run them now.
      if (this.running === 0 && this.queue.length > 0) this.flush();
    }
  }
}
