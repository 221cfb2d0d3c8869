import type { InteractionEvent } from "../event.js";
import { DEVICES } from "../event.js";
import type { RawUserFeatures } from "./raw-features.js";

export const DEFAULT_SEQUENCE_LENGTH = 20;

/**
 * Per-user raw features from that user's events (pass only training events to avoid leaking the future):
 * main device, session count and mean session duration (sum of event durations), interaction count and
 * density (per session), conversions and conversion rate (per session), and the last `sequenceLength`
 * interactions in time order; `attributes` (user id → attribute table row) are attached as they are, and with
 * `pseudonymOf` each record carries its user's pseudonym (what a spec with user-id buckets hashes).
 */
export function aggregateUserFeatures(
  events: InteractionEvent[],
  options: {
    sequenceLength?: number;
    attributes?: ReadonlyMap<string, Record<string, string>>;
    /** The pseudonym of an event user id, set as the record's userId (for a spec with user-id buckets). */
    pseudonymOf?: (userId: string) => string;
  } = {},
): Map<string, RawUserFeatures> {
  const sequenceLength = options.sequenceLength ?? DEFAULT_SEQUENCE_LENGTH;
  if (!Number.isInteger(sequenceLength) || sequenceLength < 1) {
    throw new RangeError(`aggregateUserFeatures: sequenceLength must be an integer >= 1, got ${sequenceLength}`);
  }
  const byUser = new Map<string, InteractionEvent[]>();
  for (const event of events) {
    let list = byUser.get(event.userId);
    if (!list) {
      list = [];
      byUser.set(event.userId, list);
    }
    list.push(event);
  }
  const result = new Map<string, RawUserFeatures>();
  for (const [userId, list] of byUser) {
    // Stable sort: events with equal timestamps keep their input (causal) order.
    list.sort((a, b) => a.timestamp - b.timestamp);
    const deviceCounts = [0, 0, 0];
    const sessionSeconds = new Map<string, number>();
    let conversions = 0;
    for (const e of list) {
      deviceCounts[DEVICES.indexOf(e.device)]!++;
      sessionSeconds.set(e.sessionId, (sessionSeconds.get(e.sessionId) ?? 0) + e.durationSeconds);
      if (e.converted) conversions++;
    }
    const mainDevice = deviceCounts.indexOf(Math.max(...deviceCounts));
    const sessions = sessionSeconds.size;
    let totalSeconds = 0;
    for (const s of sessionSeconds.values()) totalSeconds += s;
    result.set(userId, {
      device: DEVICES[mainDevice]!,
      sessionCount: sessions,
      avgSessionDurationSeconds: totalSeconds / sessions,
      interactionCount: list.length,
      interactionDensity: list.length / sessions,
      conversionCount: conversions,
      conversionRate: conversions / sessions,
      recentInteractions: list.slice(-sequenceLength).map((e) => ({
        page: e.page,
        interaction: e.interaction,
        itemId: e.itemId,
        durationSeconds: e.durationSeconds,
      })),
      ...(options.attributes?.has(userId) ? { attributes: options.attributes.get(userId)! } : {}),
      ...(options.pseudonymOf ? { userId: options.pseudonymOf(userId) } : {}),
    });
  }
  return result;
}
