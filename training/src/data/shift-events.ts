// A deliberate covariate shift of an event dataset, for drift demonstrations and tests: the same users and
// items, with some users moved to another device and every event longer or shorter.
import { createHash } from "node:crypto";
import type { Device, InteractionEvent } from "@funnel/two-tower";

export interface EventShift {
  /** This share of users (chosen by a hash of the user id, so stable across runs) uses only `to`. */
  device?: { to: Device; share: number };
  /** Every event's duration multiplied by this. */
  durationFactor?: number;
}

export function shiftEvents(events: readonly InteractionEvent[], shift: EventShift): InteractionEvent[] {
  const { device, durationFactor = 1 } = shift;
  if (device && !(device.share >= 0 && device.share <= 1)) throw new RangeError(`device shift share must be in [0, 1], got ${device.share}`);
  if (!(durationFactor > 0)) throw new RangeError(`duration factor must be positive, got ${durationFactor}`);
  const moved = new Map<string, boolean>();
  const isMoved = (userId: string): boolean => {
    let m = moved.get(userId);
    if (m === undefined) {
      m = device !== undefined && createHash("sha256").update(userId).digest().readUInt32BE(0) / 2 ** 32 < device.share;
      moved.set(userId, m);
    }
    return m;
  };
  return events.map((e) => ({
    ...e,
    ...(isMoved(e.userId) ? { device: device!.to } : {}),
    durationSeconds: Math.round(e.durationSeconds * durationFactor * 1000) / 1000,
  }));
}
