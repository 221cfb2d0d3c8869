// Per-user and per-item statistics of the training events that recommendation serves with: what each user
// saw (excluded from their recommendations, blended in for similar users), their device (the similar-user
// filter), the funnel pages they reached and whether they converted (next-step guidance), item popularity
// overall and per device (cold start, context re-ranking).
import { eventsBeforeConversion, funnelSessions } from "./funnel-sessions.js";
import { INTERACTION_STATS_FORMAT, type Device, type InteractionEvent, type InteractionStats, type ItemStats, type Page, type UserStats } from "@funnel/two-tower";

/** Items kept per user: enough to exclude what they saw and to vote for similar users. */
const MAX_ITEMS_PER_USER = 50;

export function buildInteractionStats(events: readonly InteractionEvent[], pseudonym: (userId: string) => string): InteractionStats {
  const perUser = new Map<string, { devices: Map<Device, number>; items: Map<string, number>; pages: Set<Page>; converted: boolean }>();
  const perItem = new Map<string, { count: number; pages: Map<Page, number>; byDevice: Partial<Record<Device, number>> }>();
  for (const e of events) {
    let u = perUser.get(e.userId);
    if (!u) {
      u = { devices: new Map(), items: new Map(), pages: new Set(), converted: false };
      perUser.set(e.userId, u);
    }
    u.devices.set(e.device, (u.devices.get(e.device) ?? 0) + 1);
    u.items.set(e.itemId, (u.items.get(e.itemId) ?? 0) + 1);
    u.pages.add(e.page);
    u.converted ||= e.converted;
    let item = perItem.get(e.itemId);
    if (!item) {
      item = { count: 0, pages: new Map(), byDevice: {} };
      perItem.set(e.itemId, item);
    }
    item.count++;
    item.pages.set(e.page, (item.pages.get(e.page) ?? 0) + 1);
    item.byDevice[e.device] = (item.byDevice[e.device] ?? 0) + 1;
  }
  const users: Record<string, UserStats> = {};
  for (const [id, u] of [...perUser].sort(([a], [b]) => (a < b ? -1 : 1))) {
    users[pseudonym(id)] = {
      device: mostFrequent(u.devices),
      items: [...u.items].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, MAX_ITEMS_PER_USER).map(([item]) => item),
      pages: [...u.pages],
      converted: u.converted,
    };
  }
  const items: Record<string, ItemStats> = {};
  for (const [id, item] of [...perItem].sort(([a], [b]) => (a < b ? -1 : 1))) {
    items[id] = { count: item.count, page: mostFrequent(item.pages), byDevice: item.byDevice };
  }
  return { format: INTERACTION_STATS_FORMAT, users, items, baseRates: pageBaseRates(events) };
}

/** Per page, the share of events before a session's first conversion whose session converted later. */
function pageBaseRates(events: readonly InteractionEvent[]): Partial<Record<Page, number>> {
  const counts = new Map<Page, { events: number; converted: number }>();
  for (const session of funnelSessions(events)) {
    for (const e of eventsBeforeConversion(session)) {
      let c = counts.get(e.page);
      if (!c) {
        c = { events: 0, converted: 0 };
        counts.set(e.page, c);
      }
      c.events++;
      if (session.converts !== -1) c.converted++;
    }
  }
  return Object.fromEntries([...counts].map(([page, c]) => [page, c.converted / c.events]));
}

function mostFrequent<K>(counts: Map<K, number>): K {
  let best: K | undefined;
  let bestCount = -1;
  for (const [key, count] of counts) {
    if (count > bestCount) {
      best = key;
      bestCount = count;
    }
  }
  return best!;
}
