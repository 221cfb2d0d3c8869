// Small deterministic funnel events for the package's own tests (the full generator lives in training,
// which depends on this package, so it cannot be used here).
import { DEVICES, INTERACTIONS, type InteractionEvent, type ItemAttributes, PAGES } from "../event.js";

/** mulberry32: tiny, fast, good enough for test fixtures. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `users` users with 1..12 events each over `items` items in 12 categories. */
export function sampleEvents(options: { users: number; items: number; seed: number }): { events: InteractionEvent[]; items: ItemAttributes[] } {
  const next = random(options.seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
  const items: ItemAttributes[] = Array.from({ length: options.items }, (_, i) => ({ itemId: `item-${i}`, category: `cat-${i % 12}` }));
  const events: InteractionEvent[] = [];
  for (let u = 0; u < options.users; u++) {
    const device = pick(DEVICES);
    const count = 1 + Math.floor(next() * 12);
    for (let e = 0; e < count; e++) {
      events.push({
        userId: `user-${u}`,
        sessionId: `user-${u}-s${Math.floor(e / 4)}`,
        timestamp: 1_700_000_000_000 + u * 1000 + e * 60_000,
        device,
        page: pick(PAGES),
        interaction: pick(INTERACTIONS),
        durationSeconds: Math.round(next() * 300),
        itemId: pick(items).itemId,
        converted: next() < 0.05,
      });
    }
  }
  return { events, items };
}
