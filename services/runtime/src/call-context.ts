import { Metadata } from "@grpc/grpc-js";
import type { PeerCertificate } from "node:tls";
import type { Logger } from "pino";
import { ContextValues } from "./context-values.js";
import { CancelledError, DeadlineExceededError } from "./errors.js";

/**
 * What the context needs of the transport's call: whether the client has gone, and to be told when; who is
 * at the other end (address, verified client certificate).
 */
export interface CancellableCall {
  readonly cancelled: boolean;
  once(event: "cancelled", listener: () => void): unknown;
  getPeer?(): string;
  getAuthContext?(): { sslPeerCertificate?: PeerCertificate };
}

const DEADLINE_CANCEL_TOLERANCE_MS = 50;

/**
 * Per-call state handed to every middleware and handler (nice-grpc style): cancellation, deadline,
 * metadata, logger, typed values. The logger, the abort signal and the trailer are made on first use, so a
 * call that needs none of them does not pay for them.
 */
export class CallContext {
  /** Typed per-call values (model version, request id, a router's variant...). */
  readonly values = new ContextValues();
  private logger: Logger | undefined;
  /** Bindings for the child logger, until it is made; one object per call, filled in place. */
  private readonly logBindings: Record<string, unknown>;
  private controller: AbortController | undefined;
  private stopReason: Error | undefined;
  private answered = false;
  private trailerMetadata: Metadata | undefined;

  constructor(
    /** Short method name, e.g. "SentimentService/Analyze". */
    readonly method: string,
    readonly metadata: Metadata,
    private readonly baseLog: Logger,
    readonly deadline: Date | undefined,
    /** The transport call, watched for a client cancel only once something asks (signal, throwIfStopped). */
    private readonly call?: CancellableCall,
  ) {
    this.logBindings = { method };
  }

  /** The call's logger: every line carries the method and the bindings added with addLogBindings. */
  get log(): Logger {
    this.logger ??= this.baseLog.child(this.logBindings);
    return this.logger;
  }

  /** Adds fields to every later log line of this call (e.g. the request id, a variant). */
  addLogBindings(bindings: Record<string, unknown>): void {
    if (this.logger) this.logger = this.logger.child(bindings);
    else Object.assign(this.logBindings, bindings);
  }

  /** True when `level` would be written; checks without making the call's child logger. */
  isLogLevelEnabled(level: string): boolean {
    return (this.logger ?? this.baseLog).isLevelEnabled(level);
  }

  /** The client's address as grpc-js reports it, e.g. "127.0.0.1:51234"; "" when unknown. */
  get peer(): string {
    return this.call?.getPeer?.() ?? "";
  }

  /** The client certificate of a mutual-TLS connection, when it was verified against the client CA. */
  get peerCertificate(): PeerCertificate | undefined {
    return this.call?.getAuthContext?.().sslPeerCertificate;
  }

  /** Aborted when the client cancels, its deadline passes, or shutdown cuts the call off. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      // A listener per call cost more than most calls' own work, so the cancel is watched from here on.
      if (!this.stopReason && this.call) {
        if (this.call.cancelled) this.abort(this.clientGone());
        // grpc-js also reports every finished call as cancelled once its stream closes: only a cancel before
        // the answer means the client gave up (and aborting after it would cost an Error per call).
        else this.call.once("cancelled", () => this.answered || this.abort(this.clientGone()));
      }
      if (this.stopReason) this.controller.abort(this.stopReason);
    }
    return this.controller.signal;
  }

  private clientGone(): Error {
    // A client cancels its own call when its deadline passes, slightly before the server's copy of the
    // deadline (computed on arrival) runs out; a cancel that close to the deadline is the deadline.
    const expired = this.deadline !== undefined && Date.now() >= this.deadline.getTime() - DEADLINE_CANCEL_TOLERANCE_MS;
    return expired ? new DeadlineExceededError() : new CancelledError("the client cancelled the call");
  }

  /** Called by the server when the answer goes out: later transport events are not the client's doing. */
  markAnswered(): void {
    this.answered = true;
  }

  /** Stops the call: `signal` aborts with `reason` and throwIfStopped throws it. The first reason wins. */
  abort(reason: Error): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.controller?.abort(reason);
  }

  /** Why the call was stopped, or undefined while it may go on. */
  get stoppedBy(): Error | undefined {
    if (!this.stopReason && !this.answered && this.call?.cancelled) this.abort(this.clientGone());
    return this.stopReason;
  }

  /**
   * Throws DeadlineExceededError or CancelledError once the call should stop. Handlers call it between
   * units of work so that an expired call stops consuming CPU instead of finishing for nobody.
   */
  throwIfStopped(): void {
    const reason = this.stoppedBy;
    if (reason) throw reason;
  }

  /** Trailing metadata sent with the call's status, OK or not. */
  get trailer(): Metadata {
    this.trailerMetadata ??= new Metadata();
    return this.trailerMetadata;
  }

  /** The trailer if anything was added to it; used by the server when it answers. */
  get trailerIfSet(): Metadata | undefined {
    return this.trailerMetadata;
  }
}
