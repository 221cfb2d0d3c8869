// Per-caller limits: a token bucket of calls per second and a cap on calls in flight, so that one greedy
// caller gets RESOURCE_EXHAUSTED (with a retry hint) while the others are still served.
import { LRUCache } from "lru-cache";
import { ResourceExhaustedError } from "../errors.js";

export interface CallerLimitsOptions {
  /** Calls per second; 0: no rate limit. */
  ratePerSecond: number;
  /** Bucket size; 0: one second's worth of the rate (at least 1). */
  burst: number;
  /** Calls in flight per caller; 0: no cap. */
  maxConcurrent: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Retry hint when a caller is at its concurrency cap: a typical call's time, not known in advance. */
const CONCURRENCY_RETRY_MS = 50;

export class CallerLimits {
  // Buckets are bounded: without authentication callers are peer addresses, which anyone can multiply. An
  // evicted bucket comes back full, which is the state an idle caller's bucket would be in anyway.
  private readonly buckets = new LRUCache<string, Bucket>({ max: 10_000 });
  private readonly inFlight = new Map<string, number>();
  private readonly burst: number;
  private readonly now: () => number;

  constructor(private readonly options: CallerLimitsOptions) {
    this.burst = options.burst > 0 ? options.burst : Math.max(1, Math.ceil(options.ratePerSecond));
    this.now = options.now ?? (() => performance.now());
  }

  get enabled(): boolean {
    return this.options.ratePerSecond > 0 || this.options.maxConcurrent > 0;
  }

  /** Takes a call slot for `caller` or throws ResourceExhaustedError; call the returned function when done. */
  acquire(caller: string): () => void {
    const { ratePerSecond, maxConcurrent } = this.options;
    const running = this.inFlight.get(caller) ?? 0;
    if (maxConcurrent > 0 && running >= maxConcurrent) {
      throw new ResourceExhaustedError(`caller "${caller}" already has ${running} calls in flight, the most one caller may have; wait for one to finish`, { retryAfterMs: CONCURRENCY_RETRY_MS });
    }
    if (ratePerSecond > 0) this.take(caller, ratePerSecond);
    if (maxConcurrent === 0) return noop;
    this.inFlight.set(caller, running + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(caller) ?? 1) - 1;
      if (left > 0) this.inFlight.set(caller, left);
      else this.inFlight.delete(caller);
    };
  }

  private take(caller: string, rate: number): void {
    const now = this.now();
    const bucket = this.buckets.get(caller) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    this.buckets.set(caller, bucket);
    if (bucket.tokens < 1) {
      const retryAfterMs = Math.ceil(((1 - bucket.tokens) / rate) * 1000);
      throw new ResourceExhaustedError(`caller "${caller}" is over its limit of ${rate} calls/s (burst ${this.burst}); retry after ${retryAfterMs} ms (grpc-retry-pushback-ms)`, { retryAfterMs });
    }
    bucket.tokens -= 1;
  }
}

function noop(): void {}
