// A model slot holds the one version of a model a server answers with, modelled on KServe's model repository
// and Triton's load/unload: load a version from the registry (pinned, or an alias that is watched), verify its
// checksums, warm it, switch atomically, let calls in flight on the old version finish, then release it.
// A version that fails to download, verify or load is refused and the current one keeps serving.
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { ModelDrift, OfflineEvaluation } from "@funnel/proto";
import { AliasNotFoundError, ModelNotFoundError, RegistryUnavailableError } from "@funnel/registry";
import type { Logger } from "pino";
import { NotFoundError, UnavailableError } from "./errors.js";

/** What a slot needs of the model registry; `@funnel/registry`'s ModelRegistry satisfies it. */
export interface ModelSource {
  /** Data directory or server URL, for messages. */
  readonly location: string;
  /** `ref` is a version number or an alias name. */
  resolve(model: string, ref: number | string): Promise<{ version: number }>;
  /** Copies the version's artifacts to `dest` and verifies every checksum, or throws. */
  download(model: string, ref: number | string, dest: string): Promise<{ dir: string; version: { version: number } }>;
}

/** A loaded, warmed model: what a slot holds. `close` frees it (ONNX sessions, index memory). */
export interface ServableModel {
  close(): Promise<void>;
  /**
   * A model that profiles what it serves reports its drift here (reference vs live histograms and PSI); the
   * runtime adds the slot's name, version and kind, exports the metrics and answers ModelStatusService/GetDrift.
   */
  drift?(): Omit<ModelDrift, "name" | "version" | "kind">;
  /** What training measured of this version offline (its policies on the test split), for ListModels. */
  evaluation?(): OfflineEvaluation[];
}

/** Which version a slot serves; `ref` is what it follows (an alias, or the pinned version number). */
export interface LoadedVersion<M extends ServableModel> {
  readonly model: M;
  readonly name: string;
  readonly version: number;
  readonly loadedAt: Date;
}

export interface ModelSlotStatus {
  name: string;
  /** The alias followed, or the pinned version as a string. */
  ref: string;
  /** Version served now; undefined until the first load succeeded. */
  version: number | undefined;
  loadedAt: Date | undefined;
  ready: boolean;
  /** Versions refused so far (failed download, checksum, load or warm-up). */
  failedLoads: number;
  lastError: { version: number | undefined; message: string; at: Date } | undefined;
}

export interface ModelSlotOptions<M extends ServableModel> {
  /** Registered model name, e.g. "two-tower". */
  name: string;
  /** Alias to follow (e.g. "production") or a version number to pin ("3"). */
  ref: string;
  source: ModelSource;
  /** Downloads land in `${cacheDir}/${name}/v${version}`; the directory of a released version is removed. */
  cacheDir: string;
  /** Loads and warms the downloaded directory; throws to refuse the version. */
  load(dir: string, version: number): Promise<M>;
  /** How often an alias is re-resolved; 0 disables watching (pinned versions are never watched). */
  pollIntervalMs: number;
  log: Logger;
  /**
   * An optional model (e.g. the sentiment transformer behind the rules): start() succeeds without a version,
   * and the slot keeps watching the ref until one appears. Required (default): start() fails without one.
   */
  optional?: boolean;
  /** Told after every load attempt, for metrics. */
  onLoadAttempt?: (outcome: { name: string; version: number | undefined; ok: boolean; seconds: number }) => void;
}

/**
 * A lease keeps the version it was taken on alive until released, so a swap never closes a model a call is
 * still using. Take one per call (`acquire`), release it in `finally`.
 */
export interface ModelLease<M extends ServableModel> extends LoadedVersion<M> {
  release(): void;
}

const REFUSED_RETRY_MS = 60_000;

/**
 * A failure that says nothing about the version: the registry or a store the load writes to (Milvus) did
 * not answer. Such a version is tried again at once, not after REFUSED_RETRY_MS. Errors of other packages
 * say so with `grpcStatus: "UNAVAILABLE"` (the convention of the runtime's error boundary).
 */
function isOutage(error: unknown): boolean {
  return error instanceof RegistryUnavailableError || (error as { grpcStatus?: unknown } | undefined)?.grpcStatus === "UNAVAILABLE";
}

interface Held<M extends ServableModel> extends LoadedVersion<M> {
  leases: number;
  retired: boolean;
}

export class ModelSlot<M extends ServableModel> {
  private held: Held<M> | undefined;
  private failedLoads = 0;
  private lastError: ModelSlotStatus["lastError"];
  /** The last version refused for itself (not for a registry outage), and when: retried only after a while. */
  private refused: { version: number; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;
  private readonly listeners = new Set<(ready: boolean) => void>();
  private readonly pinned: boolean;

  constructor(private readonly options: ModelSlotOptions<M>) {
    this.pinned = /^v?\d+$/.test(options.ref);
  }

  get name(): string {
    return this.options.name;
  }

  get ref(): string {
    return this.options.ref;
  }

  /** Version serving now; undefined until the first load. Cheap: read on every call by some services. */
  get version(): number | undefined {
    return this.held?.version;
  }

  /** The version serving now, not leased: for status reads that finish before any swap can release it. */
  get current(): LoadedVersion<M> | undefined {
    return this.closed ? undefined : this.held;
  }

  get ready(): boolean {
    return this.held !== undefined && !this.closed;
  }

  /** Called whenever readiness changes (first load, close). A swap never makes a ready slot unready. */
  onReadyChange(listener: (ready: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(): ModelSlotStatus {
    return {
      name: this.options.name,
      ref: this.options.ref,
      version: this.held?.version,
      loadedAt: this.held?.loadedAt,
      ready: this.ready,
      failedLoads: this.failedLoads,
      lastError: this.lastError,
    };
  }

  /**
   * Loads the version `ref` names now, then (for an alias) keeps watching it. Throws when the first load
   * fails, so start-up reports why; later failures are logged and the current version keeps serving.
   */
  start(): Promise<void> {
    // Idempotent: services sharing the slot in one process all await the same first load. A failed first
    // load may be tried again (a dependency such as Milvus was down at start-up): the next start() retries.
    this.starting ??= this.firstLoad().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  private async firstLoad(): Promise<void> {
    await this.check();
    if (!this.held && !this.options.optional) {
      throw new Error(`model ${this.options.name}@${this.options.ref} could not be loaded: ${this.lastError?.message ?? "unknown error"}`);
    }
    // An optional slot still empty keeps looking even for a pinned version: it may be registered later.
    if ((!this.pinned || !this.held) && this.options.pollIntervalMs > 0) this.schedule();
  }

  /**
   * The version serving now, leased. `requested` (a version number or the followed alias) must name the
   * held version; anything else is NOT_FOUND naming what is held.
   */
  acquire(requested?: { version?: string }): ModelLease<M> {
    const held = this.held;
    if (!held || this.closed) throw new UnavailableError(`model ${this.options.name} is not loaded yet; retry shortly`);
    const want = requested?.version?.trim();
    if (want && want !== this.options.ref && want.replace(/^v/, "") !== String(held.version)) {
      throw new NotFoundError(
        `model ${this.options.name} version "${want}" is not served here; this server holds version ${held.version} (following "${this.options.ref}"): leave model.version empty or ask for ${held.version}`,
      );
    }
    held.leases++;
    let released = false;
    return {
      model: held.model,
      name: held.name,
      version: held.version,
      loadedAt: held.loadedAt,
      release: () => {
        if (released) return;
        released = true;
        held.leases--;
        if (held.retired && held.leases === 0) void this.dispose(held);
      },
    };
  }

  /** Re-resolves the ref now and swaps when it names another version. Concurrent calls share one check. */
  refresh(): Promise<void> {
    this.checking ??= this.check().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  /** Stops watching and releases the held version once its leases are released. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await this.checking?.catch(() => undefined);
    const held = this.held;
    this.held = undefined;
    this.emit(false);
    if (held) {
      held.retired = true;
      if (held.leases === 0) await this.dispose(held);
    }
  }

  private schedule(): void {
    if (this.closed || (this.pinned && this.held)) return;
    this.timer = setTimeout(() => {
      void this.refresh().finally(() => this.schedule());
    }, this.options.pollIntervalMs);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    const { name, ref, source, log } = this.options;
    let version: number | undefined;
    try {
      version = (await source.resolve(name, ref)).version;
    } catch (error) {
      // An unreachable registry is not a bad version: keep serving, count it, try again next poll.
      this.recordFailure(undefined, error, "cannot resolve the model version in the registry");
      return;
    }
    if (version === this.held?.version) return;
    // A refused version is tried again only after a while: a corrupt one would otherwise be downloaded on
    // every poll. A download the registry's outage broke (5xx, unreachable) is no verdict on the version:
    // it is tried again on the next poll, so the swap happens as soon as the registry is back.
    if (version === this.refused?.version && Date.now() - this.refused.at < REFUSED_RETRY_MS) return;
    const started = process.hrtime.bigint();
    let loaded: M | undefined;
    const dir = path.join(this.options.cacheDir, name, `v${version}`);
    try {
      // A directory left by an earlier run may be partial or stale: always download afresh and verify.
      await rm(dir, { recursive: true, force: true });
      await mkdir(path.dirname(dir), { recursive: true });
      await source.download(name, version, dir);
      loaded = await this.options.load(dir, version);
    } catch (error) {
      this.options.onLoadAttempt?.({ name, version, ok: false, seconds: secondsSince(started) });
      if (!isOutage(error)) this.refused = { version, at: Date.now() };
      this.recordFailure(version, error, "refused a model version; the current version keeps serving");
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      return;
    }
    if (this.closed) {
      await loaded.close();
      return;
    }
    const previous = this.held;
    this.held = { model: loaded, name, version, loadedAt: new Date(), leases: 0, retired: false };
    this.lastError = undefined;
    this.refused = undefined;
    log.info({ model: name, ref, version, previousVersion: previous?.version, ms: Math.round(secondsSince(started) * 1000) }, "model version serving");
    this.options.onLoadAttempt?.({ name, version, ok: true, seconds: secondsSince(started) });
    if (!previous) this.emit(true);
    else {
      previous.retired = true;
      if (previous.leases === 0) await this.dispose(previous);
    }
  }

  private recordFailure(version: number | undefined, error: unknown, what: string): void {
    const message = error instanceof Error ? error.message : String(error);
    if (version !== undefined) this.failedLoads++;
    // The same failure on every poll (an optional model not registered yet, a registry down) is logged once.
    const repeated = this.lastError?.message === message && this.lastError.version === version;
    this.lastError = { version, message, at: new Date() };
    // An optional model that is not registered yet is the normal state of a fresh start, not a fault: its
    // service says so in one line of its own, so no stack here.
    const absent = this.options.optional && !this.held && (error instanceof ModelNotFoundError || error instanceof AliasNotFoundError);
    if (absent) {
      this.options.log.debug({ model: this.options.name, ref: this.options.ref, reason: message }, what);
      return;
    }
    const level = repeated ? "debug" : this.options.optional && !this.held ? "warn" : "error";
    this.options.log[level]({ model: this.options.name, ref: this.options.ref, version, servingVersion: this.held?.version, err: error }, what);
  }

  private async dispose(held: Held<M>): Promise<void> {
    try {
      await held.model.close();
    } catch (error) {
      this.options.log.warn({ model: held.name, version: held.version, err: error }, "closing a released model version failed");
    }
    await rm(path.join(this.options.cacheDir, held.name, `v${held.version}`), { recursive: true, force: true }).catch(() => undefined);
    this.options.log.info({ model: held.name, version: held.version }, "released model version");
  }

  private emit(ready: boolean): void {
    for (const listener of this.listeners) listener(ready);
  }
}

function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}
