import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "pino";

/** Per-call state handed to every handler (nice-grpc style): cancellation, deadline, metadata, logger. */
export class CallContext {
  /** Model version label for this call's metrics; handlers set it once they know which model answered. */
  modelVersion = "none";

  constructor(
    /** Short method name, e.g. "SentimentService/Analyze". */
    readonly method: string,
    readonly metadata: Metadata,
    readonly log: Logger,
    /** Aborted when the client cancels, its deadline passes, or shutdown cuts the call off. */
    readonly signal: AbortSignal,
    readonly deadline: Date | undefined,
  ) {}

  /**
   * Throws DeadlineExceededError or CancelledError once the call should stop. Handlers call it between
   * units of work so that an expired call stops consuming CPU instead of finishing for nobody.
   */
  throwIfStopped(): void {
    if (this.signal.aborted) throw this.signal.reason;
  }
}
