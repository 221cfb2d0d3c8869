// How every serving process (embedding, similarity, recommendation, alone or embedded together) turns its one
// drift settings group into a version's monitor: same window for all, one monitor per (model, version) in the
// process however many slots load that version. Structural types so two-tower needs no runtime import.
import { DEFAULT_DRIFT_OPTIONS, type DriftMonitor, type DriftMonitorOptions } from "./drift-monitor.js";

/** Hands out one object per key while anyone holds it (the runtime's ModelHub.shareWhileHeld). */
export interface MonitorSharing {
  shareWhileHeld<T>(key: string, create: () => T): { readonly value: T; release(): void };
}

/** What a service passes: the process's drift settings and its sharing (the runtime's ModelHub has both). */
export interface DriftHub extends MonitorSharing {
  readonly drift: { window: number; minObservations: number };
}

export interface ServedDriftOptions {
  /** Absent: profiling is off (window 0). */
  drift: DriftMonitorOptions | undefined;
  /** The version's monitor is shared under `${key}\u0000${version}` (key: the registered model name). */
  share: { sharing: MonitorSharing; key: string } | undefined;
}

/** Load options of a served two-tower version of `model` under the process's drift settings. */
export function servedDriftOptions(hub: DriftHub, model: string): ServedDriftOptions {
  const { window, minObservations } = hub.drift;
  if (window === 0) return { drift: undefined, share: undefined };
  // The ring needs a row per segment: a tiny window gets fewer segments rather than a start-up error.
  const segments = Math.min(DEFAULT_DRIFT_OPTIONS.segments, window);
  return { drift: { windowRows: window, segments, minObservations }, share: { sharing: hub, key: model } };
}

/** The monitor to use for `version`: the shared one when sharing, else `create()` (released on close either way). */
export function acquireMonitor(share: ServedDriftOptions["share"], version: number, create: () => DriftMonitor): { value: DriftMonitor; release(): void } {
  if (!share) return { value: create(), release: () => undefined };
  return share.sharing.shareWhileHeld(`${share.key}\u0000${version}`, create);
}
