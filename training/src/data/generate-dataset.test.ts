import { describe, expect, it } from "vitest";
import { PAGES, type InteractionEvent } from "@funnel/two-tower";
import { CATEGORIES, SEGMENTS, generateDataset } from "./generate-dataset.js";
import { fingerprintEvents } from "./split.js";

// One default-sized run shared by the tests below: it is the size the issue asks for.
const big = generateDataset({ users: 10_000, seed: 42 });

function sessionsReaching(events: InteractionEvent[]): Record<string, number> {
  const pagesBySession = new Map<string, Set<string>>();
  for (const e of events) {
    let pages = pagesBySession.get(e.sessionId);
    if (!pages) {
      pages = new Set();
      pagesBySession.set(e.sessionId, pages);
    }
    pages.add(e.page);
  }
  const counts: Record<string, number> = {};
  for (const page of PAGES) counts[page] = [...pagesBySession.values()].filter((p) => p.has(page)).length;
  return counts;
}

describe("generateDataset", () => {
  it("has the default size: 10,000 users, a 1,500-item catalogue and more than 100,000 interactions", () => {
    expect(big.users).toHaveLength(10_000);
    expect(big.items).toHaveLength(1_500);
    expect(big.events.length).toBeGreaterThan(100_000);
    expect(new Set(big.events.map((e) => e.userId)).size).toBe(10_000);
    expect(new Set(big.items.map((i) => i.category))).toEqual(new Set(CATEGORIES));
  });

  it("is deterministic for a seed and differs between seeds", () => {
    const a = generateDataset({ users: 300, seed: 7, items: 240 });
    const b = generateDataset({ users: 300, seed: 7, items: 240 });
    const c = generateDataset({ users: 300, seed: 8, items: 240 });
    expect(b).toEqual(a);
    expect(fingerprintEvents(c.events)).not.toBe(fingerprintEvents(a.events));
  });

  it("shows funnel drop-off: every step is reached by fewer sessions than the one before", () => {
    const reached = sessionsReaching(big.events);
    const sessions = new Set(big.events.map((e) => e.sessionId)).size;
    expect(reached.home).toBe(sessions);
    for (let i = 1; i < PAGES.length; i++) expect(reached[PAGES[i]!]).toBeLessThan(reached[PAGES[i - 1]!]!);
    // A realistic shape, not a cliff: some sessions convert, most do not.
    const conversion = reached.confirmation! / sessions;
    expect(conversion).toBeGreaterThan(0.05);
    expect(conversion).toBeLessThan(0.4);
  });

  it("keeps sessions in funnel order and marks conversions only on confirmation", () => {
    // Violations are collected rather than asserted per event: 150,000 expect() calls take seconds.
    const lastStep = new Map<string, number>();
    const violations: string[] = [];
    big.events.forEach((e, i) => {
      const step = PAGES.indexOf(e.page);
      if (step < (lastStep.get(e.sessionId) ?? 0)) violations.push(`event ${i}: ${e.page} after a later step`);
      lastStep.set(e.sessionId, step);
      if (e.converted !== (e.page === "confirmation")) violations.push(`event ${i}: converted on ${e.page}`);
      if (!(e.durationSeconds > 0)) violations.push(`event ${i}: duration ${e.durationSeconds}`);
      if (i > 0 && e.timestamp < big.events[i - 1]!.timestamp) violations.push(`event ${i}: out of time order`);
    });
    expect(violations.slice(0, 5)).toEqual([]);
  });

  it("gives users a segment whose two categories dominate their product views", () => {
    const categoryOf = new Map(big.items.map((i) => [i.itemId, i.category]));
    const segmentOf = new Map(big.users.map((u) => [u.userId, u.segment]));
    let inSegment = 0;
    let products = 0;
    for (const e of big.events) {
      if (e.page !== "product") continue;
      products++;
      const segment = SEGMENTS.find((s) => s.name === segmentOf.get(e.userId))!;
      if (segment.categories.some((c) => CATEGORIES[c] === categoryOf.get(e.itemId))) inSegment++;
    }
    // 2 of 12 categories would be 17% by chance.
    expect(inSegment / products).toBeGreaterThan(0.8);
  });

  it("writes feedback whose sentiment follows the experience", () => {
    const confirmations = big.events.filter((e) => e.page === "confirmation" && e.text);
    const failures = big.events.filter((e) => e.page === "payment" && e.text);
    expect(confirmations.length).toBeGreaterThan(100);
    expect(failures.length).toBeGreaterThan(100);
    const positive = /great|love|excellent|happy|pleased|perfect|satisfied/i;
    const negative = /fail|declined|awful|disappointed|frustrating|timing out/i;
    expect(confirmations.every((e) => positive.test(e.text!) && !negative.test(e.text!))).toBe(true);
    expect(failures.every((e) => negative.test(e.text!))).toBe(true);
    // Payment errors end without confirmation in the same session.
    const confirmed = new Set(big.events.filter((e) => e.converted).map((e) => e.sessionId));
    expect(failures.some((e) => confirmed.has(e.sessionId))).toBe(false);
  });

  it("uses all devices and lets mobile users convert less often than desktop users", () => {
    const sessions = { desktop: new Set<string>(), mobile: new Set<string>(), tablet: new Set<string>() };
    const converted = { desktop: new Set<string>(), mobile: new Set<string>(), tablet: new Set<string>() };
    for (const e of big.events) {
      sessions[e.device].add(e.sessionId);
      if (e.converted) converted[e.device].add(e.sessionId);
    }
    for (const d of ["desktop", "mobile", "tablet"] as const) expect(sessions[d].size).toBeGreaterThan(1000);
    expect(converted.mobile.size / sessions.mobile.size).toBeLessThan(converted.desktop.size / sessions.desktop.size);
  });

  it("rejects sizes it cannot honour", () => {
    expect(() => generateDataset({ users: 0, seed: 1 })).toThrow("users must be an integer >= 1, got 0");
    expect(() => generateDataset({ users: 10, seed: 1, items: 20 })).toThrow("items must be an integer >= 36");
  });
});
