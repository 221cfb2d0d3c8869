// One model slot per (model, ref, kind) in a process: in embedded mode the services that need the same
// two-tower version share one loaded copy instead of each loading the towers again.
import path from "node:path";
import type { ModelDrift, OfflineEvaluation } from "@funnel/proto";
import { type ModelRegistry, registryConfigFrom, registryFromConfig } from "@funnel/registry";
import type { Logger } from "pino";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { registerDriftMetrics } from "./drift-metrics.js";
import { type DriftConfig, type ModelConfig, pseudonymSaltOf } from "./model-settings.js";
import { ModelSlot, type ModelSlotStatus, type ModelSource, type ServableModel } from "./model-slot.js";

/** Builds the configured registry (a slot's model source; the platform's first run also registers into it). */
export function registryFromModelConfig(config: Pick<ModelConfig, "registry">): ModelRegistry {
  return registryFromConfig(registryConfigFrom(config.registry));
}

export interface SlotRequest<M extends ServableModel> {
  /** Registered model name, e.g. "two-tower". */
  name: string;
  /** Alias to follow or version to pin. */
  ref: string;
  /** What the loader builds (e.g. "embedding-towers"); slots are shared only between identical kinds. */
  kind: string;
  load(dir: string, version: number): Promise<M>;
  /** See ModelSlotOptions.optional. */
  optional?: boolean;
}

/** A process-wide object handed out by ModelHub.shareWhileHeld; `release` once the holder is done with it. */
export interface SharedLease<T> {
  readonly value: T;
  release(): void;
}

export class ModelHub {
  private readonly slots = new Map<string, ModelSlot<any>>();
  private readonly held = new Map<string, { value: unknown; holders: number }>();
  private source: ModelSource | undefined;
  private warnedDevelopmentSalt = false;
  private readonly loaded: Gauge<"model" | "ref" | "version">;
  private readonly loads: Counter<"model" | "result">;
  private readonly loadSeconds: Histogram<"model">;

  constructor(
    private readonly options: {
      config: ModelConfig;
      log: Logger;
      registry: Registry;
      /** Tests pass a source directly; otherwise the configured registry is built on first use. */
      source?: ModelSource;
    },
  ) {
    this.source = options.source;
    const { registry } = options;
    this.loaded = new Gauge({
      name: "funnel_model_loaded_timestamp_seconds",
      help: "When the served version of each model slot was loaded (unix seconds); one series per model, ref and version.",
      labelNames: ["model", "ref", "version"] as const,
      registers: [registry],
    });
    this.loads = new Counter({
      name: "funnel_model_loads_total",
      help: "Model version loads by model and result (ok, or refused: download, checksum, load or warm-up failed).",
      labelNames: ["model", "result"] as const,
      registers: [registry],
    });
    this.loadSeconds = new Histogram({
      name: "funnel_model_load_duration_seconds",
      help: "Time to download, verify, load and warm a model version.",
      labelNames: ["model"] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    });
    registerDriftMetrics(registry, () => this.drifts());
  }

  /**
   * Salt of the user-id pseudonyms in model versions: the configured one, else `development` (the salt
   * training uses when none is given), with one warning per process however many services ask.
   */
  private readonly warnedUnfingerprinted = new Set<number>();

  pseudonymSaltOr(development: string): string {
    const configured = pseudonymSaltOf(this.options.config.pseudonym);
    if (configured) return configured;
    if (!this.warnedDevelopmentSalt) {
      this.warnedDevelopmentSalt = true;
      this.options.log.warn("FUNNEL_PSEUDONYM_SALT (or …_FILE) is not set: user ids are looked up with the development salt (fine for generated data only)");
    }
    return development;
  }

  /**
   * The salt check every two-tower load runs (see @funnel/two-tower checkPseudonymSalt): the process's salt,
   * and one warning per version that records no salt fingerprint (trained before versions recorded one).
   */
  pseudonymSaltCheck(development: string): { salt: string; onUnfingerprinted: (version: number) => void } {
    const salt = this.pseudonymSaltOr(development);
    return {
      salt,
      onUnfingerprinted: (version) => {
        if (this.warnedUnfingerprinted.has(version)) return;
        this.warnedUnfingerprinted.add(version);
        this.options.log.warn({ version }, "this model version records no pseudonym salt fingerprint: cannot check that it was trained with this process's salt (retrain to record one)");
      },
    };
  }

  /** How served versions profile their inputs (one setting group per process, see driftSettings). */
  get drift(): DriftConfig {
    return this.options.config.drift;
  }

  /**
   * One object per key for as long as any model holds it. Slots of different kinds can load the same version
   * (embedded mode: the embedding towers and the similarity/recommendation indexes); what belongs to the
   * version rather than to one loaded copy (its rolling drift profile) is kept once, so each served row is
   * counted once and the version has one profile however many services feed it.
   */
  shareWhileHeld<T>(key: string, create: () => T): SharedLease<T> {
    let entry = this.held.get(key);
    if (!entry) {
      entry = { value: create(), holders: 0 };
      this.held.set(key, entry);
    }
    const shared = entry;
    shared.holders += 1;
    let released = false;
    return {
      value: shared.value as T,
      release: () => {
        if (released) return;
        released = true;
        shared.holders -= 1;
        if (shared.holders === 0 && this.held.get(key) === shared) this.held.delete(key);
      },
    };
  }

  /** The shared slot for this request, created (not yet started) on first use. */
  slot<M extends ServableModel>(request: SlotRequest<M>): ModelSlot<M> {
    const key = `${request.kind}\u0000${request.name}\u0000${request.ref}`;
    const existing = this.slots.get(key);
    if (existing) return existing;
    this.source ??= registryFromModelConfig(this.options.config);
    const { config, log } = this.options;
    const slot: ModelSlot<M> = new ModelSlot<M>({
      name: request.name,
      ref: request.ref,
      source: this.source,
      cacheDir: path.resolve(config.slots.cacheDir, request.kind),
      load: request.load,
      optional: request.optional,
      pollIntervalMs: config.slots.pollMs,
      log: log.child({ slot: request.kind }),
      onLoadAttempt: ({ name, ok, seconds }) => {
        this.loads.inc({ model: name, result: ok ? "ok" : "refused" });
        if (ok) this.loadSeconds.observe({ model: name }, seconds);
        this.publish();
      },
    });
    this.slots.set(key, slot);
    return slot;
  }

  /** Every slot's state: which version it serves, since when, and the last refused version's reason. */
  statuses(): (ModelSlotStatus & { kind: string; evaluation: OfflineEvaluation[] })[] {
    return [...this.slots.entries()].map(([key, slot]) => ({
      ...slot.status(),
      kind: key.split("\u0000")[0]!,
      evaluation: slot.current?.model.evaluation?.() ?? [],
    }));
  }

  /**
   * Drift of every served version whose model profiles its traffic (optionally of one model name), once per
   * version: slots serving the same version (embedded mode) share its monitor (shareWhileHeld), so either
   * reports the same profile; should they not (a model that keeps its own), the one that observed more wins.
   */
  drifts(model?: string): ModelDrift[] {
    const byVersion = new Map<string, ModelDrift>();
    for (const [key, slot] of this.slots) {
      const held = slot.current;
      if (!held?.model.drift || (model !== undefined && held.name !== model)) continue;
      const drift: ModelDrift = { ...held.model.drift(), name: held.name, version: String(held.version), kind: key.split("\u0000")[0]! };
      const id = `${drift.name}\u0000${drift.version}`;
      const other = byVersion.get(id);
      if (!other || other.observations < drift.observations) byVersion.set(id, drift);
    }
    return [...byVersion.values()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.slots.values()].map((slot) => slot.close()));
  }

  private publish(): void {
    // Rebuilt from every slot so the series of a released version disappears when a new one serves.
    this.loaded.reset();
    for (const slot of this.slots.values()) {
      const s = slot.status();
      if (s.version !== undefined && s.loadedAt) {
        this.loaded.set({ model: s.name, ref: s.ref, version: String(s.version) }, s.loadedAt.getTime() / 1000);
      }
    }
  }
}
