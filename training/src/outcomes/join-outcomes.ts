// The outcome join: which served recommendations were followed by an interaction with (hit) or a purchase of
// (conversion) one of their items within a window, per model version and UTC day. Pure: served records and
// pseudonymised events in, figures and the count of every excluded record (by reason) out.
import type { InteractionEvent, ServedRecommendation } from "@funnel/two-tower";

/** Why a well-formed served record is not in the rates; every excluded record is counted under one. */
export const EXCLUSION_REASONS = {
  anonymous: "the call had no user id (features only or cold start): no events can be joined to it",
  no_items: "the answer had no items",
  duplicate_request_id: "a record with the same request id was already joined (the same log file given twice?)",
  window_not_covered: "the events file does not cover the whole outcome window after the record was served (events start later or end sooner)",
} as const;
export type ExclusionReason = keyof typeof EXCLUSION_REASONS;

export interface OutcomeFigures {
  /** Served recommendations joined (in the rates). */
  served: number;
  /** Followed by an interaction with a recommended item within the window. */
  hits: number;
  /** Followed by a converted event on a recommended item within the window. */
  conversions: number;
  hitRate: number;
  conversionRate: number;
}

export interface VersionDayOutcome extends OutcomeFigures {
  model: string;
  version: string;
  /** UTC day the recommendations were served, YYYY-MM-DD. */
  day: string;
}

export interface VersionOutcome extends OutcomeFigures {
  model: string;
  version: string;
  days: number;
}

export interface OutcomeJoin {
  windowMs: number;
  /** First and last event time of the events joined (ISO), or null without events. */
  events: { count: number; from: string | null; to: string | null };
  byVersionDay: VersionDayOutcome[];
  byVersion: VersionOutcome[];
  excluded: Record<ExclusionReason, number>;
}

interface UserEvent {
  timestamp: number;
  itemId: string;
  converted: boolean;
}

/**
 * Joins served records to events (whose user ids are already pseudonymised with the serving salt, so they
 * match the log's). An event counts when it comes after the record was served and at most `windowMs` later.
 */
export function joinOutcomes(served: readonly ServedRecommendation[], events: readonly InteractionEvent[], options: { windowMs: number }): OutcomeJoin {
  const { windowMs } = options;
  if (!(windowMs > 0)) throw new RangeError(`the outcome window must be positive, got ${windowMs} ms`);
  const byUser = new Map<string, UserEvent[]>();
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const e of events) {
    const list = getOrAdd(byUser, e.userId, () => []);
    list.push({ timestamp: e.timestamp, itemId: e.itemId, converted: e.converted });
    first = Math.min(first, e.timestamp);
    last = Math.max(last, e.timestamp);
  }
  for (const list of byUser.values()) list.sort((a, b) => a.timestamp - b.timestamp);

  const excluded = Object.fromEntries(Object.keys(EXCLUSION_REASONS).map((r) => [r, 0])) as Record<ExclusionReason, number>;
  const seen = new Set<string>();
  const cells = new Map<string, VersionDayOutcome>();
  for (const record of served) {
    const at = Date.parse(record.ts);
    const reason: ExclusionReason | undefined =
      record.user === null
        ? "anonymous"
        : record.items.length === 0
          ? "no_items"
          : record.requestId !== "" && seen.has(record.requestId)
            ? "duplicate_request_id"
            : at < first || at + windowMs > last
              ? "window_not_covered"
              : undefined;
    if (reason) {
      excluded[reason]++;
      continue;
    }
    if (record.requestId !== "") seen.add(record.requestId);
    const items = new Set(record.items.map((i) => i.itemId));
    let hit = false;
    let converted = false;
    for (const e of byUser.get(record.user!) ?? []) {
      if (e.timestamp <= at) continue;
      if (e.timestamp > at + windowMs) break;
      if (!items.has(e.itemId)) continue;
      hit = true;
      if (e.converted) {
        converted = true;
        break;
      }
    }
    const day = new Date(at).toISOString().slice(0, 10);
    const key = `${record.model}\u0000${record.version}\u0000${day}`;
    const cell = getOrAdd(cells, key, () => ({ model: record.model, version: record.version, day, served: 0, hits: 0, conversions: 0, hitRate: 0, conversionRate: 0 }));
    cell.served++;
    if (hit) cell.hits++;
    if (converted) cell.conversions++;
  }

  const byVersionDay = [...cells.values()].map(withRates).sort((a, b) => compareVersions(a, b) || (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  const versions = new Map<string, VersionOutcome>();
  for (const cell of byVersionDay) {
    const key = `${cell.model}\u0000${cell.version}`;
    const v = getOrAdd(versions, key, () => ({ model: cell.model, version: cell.version, days: 0, served: 0, hits: 0, conversions: 0, hitRate: 0, conversionRate: 0 }));
    v.days++;
    v.served += cell.served;
    v.hits += cell.hits;
    v.conversions += cell.conversions;
  }
  return {
    windowMs,
    events: { count: events.length, from: events.length ? new Date(first).toISOString() : null, to: events.length ? new Date(last).toISOString() : null },
    byVersionDay,
    byVersion: [...versions.values()].map(withRates).sort(compareVersions),
    excluded,
  };
}

function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

function withRates<T extends OutcomeFigures>(f: T): T {
  return { ...f, hitRate: f.served ? f.hits / f.served : 0, conversionRate: f.served ? f.conversions / f.served : 0 };
}

/** By model, then by version number (numerically: version 10 comes after 9). */
export function compareVersions(a: { model: string; version: string }, b: { model: string; version: string }): number {
  if (a.model !== b.model) return a.model < b.model ? -1 : 1;
  return Number(a.version) - Number(b.version) || (a.version < b.version ? -1 : a.version > b.version ? 1 : 0);
}
