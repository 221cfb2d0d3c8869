import { pseudonymiseEvents } from "@funnel/two-tower";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadEvents } from "../data/index.js";
import { joinOutcomes } from "./join-outcomes.js";
import { outcomeAlerts } from "./outcome-alerts.js";
import { readServedLog } from "./read-served-log.js";
import { EVENTS_CSV, SALT, SERVED, servedLogText } from "./testing/hand-made-outcomes.js";

const DAY_MS = 86_400_000;

async function handMade() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "outcomes-"));
  try {
    await writeFile(path.join(dir, "events.csv"), EVENTS_CSV);
    await writeFile(path.join(dir, "served.jsonl"), servedLogText());
    const events = await loadEvents([path.join(dir, "events.csv")]);
    const served = await readServedLog([path.join(dir, "served.jsonl")]);
    return { events, served, dir };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("joinOutcomes on a hand-made log", () => {
  it("computes hit and conversion rate per version and day, counting every left-out record by reason", async () => {
    const { events } = await handMade();
    const join = joinOutcomes(SERVED, pseudonymiseEvents(events.events, SALT), { windowMs: DAY_MS });
    const pick = ({ version, day, served, hits, conversions }: { version: string; day?: string; served: number; hits: number; conversions: number }) => ({ version, day, served, hits, conversions });
    expect(join.byVersionDay.map(pick)).toEqual([
      { version: "1", day: "2026-11-01", served: 4, hits: 3, conversions: 1 },
      { version: "1", day: "2026-11-02", served: 1, hits: 1, conversions: 0 },
      { version: "2", day: "2026-11-02", served: 4, hits: 1, conversions: 0 },
    ]);
    expect(join.byVersion.map((v) => [v.version, v.days, v.hitRate, v.conversionRate])).toEqual([
      ["1", 2, 0.8, 0.2],
      ["2", 1, 0.25, 0],
    ]);
    expect(join.excluded).toEqual({ anonymous: 1, no_items: 0, duplicate_request_id: 1, window_not_covered: 1 });
    const joined = join.byVersion.reduce((s, v) => s + v.served, 0);
    expect(joined + Object.values(join.excluded).reduce((s, n) => s + n, 0)).toBe(SERVED.length);
  });

  it("a longer window turns an interaction just past the first window into a hit", async () => {
    const { events } = await handMade();
    const join = joinOutcomes(SERVED, pseudonymiseEvents(events.events, SALT), { windowMs: 2 * DAY_MS });
    // r7 (u2, 1 s past a day) now counts, r4 (u4, 49 h later) still does not; the events end 2026-11-04
    // 12:00, so version 2's records (served 2026-11-02 09:00 + 2 days) are still covered, r11 is not.
    expect(join.byVersion.map((v) => [v.version, v.served, v.hits])).toEqual([
      ["1", 5, 4],
      ["2", 4, 2],
    ]);
  });

  it("without the serving salt no user matches: every joined record is a miss", async () => {
    const { events } = await handMade();
    const join = joinOutcomes(SERVED, pseudonymiseEvents(events.events, "another-salt"), { windowMs: DAY_MS });
    expect(join.byVersion.every((v) => v.hits === 0)).toBe(true);
  });

  it("reports malformed lines of both inputs with their line numbers", async () => {
    const { events, served } = await handMade();
    expect(served.report).toMatchObject({ rowsRead: SERVED.length + 2, rowsRejected: 2 });
    expect(served.report.errors.map((e) => [e.line, e.reason])).toEqual([
      [3, "not valid JSON"],
      [7, "version: missing"],
    ]);
    expect(events.report.errors.map((e) => e.line)).toEqual([15]);
    expect(events.report.errors[0]!.reason).toMatch(/timestamp/);
  });
});

describe("outcomeAlerts", () => {
  const join = async () => joinOutcomes(SERVED, pseudonymiseEvents((await handMade()).events.events, SALT), { windowMs: DAY_MS });

  it("alerts when a version falls more than the allowed share below its offline figure or the previous version", async () => {
    const { byVersion } = await join();
    const offline = new Map([
      ["two-tower\u00001", 0.7],
      ["two-tower\u00002", 0.6],
    ]);
    const result = outcomeAlerts(byVersion, offline, { maxDrop: 0.2, minServed: 1, offlineMetric: "recall@10" });
    const drops = result.comparisons.map((c) => [c.version, c.baseline, Number(c.drop.toFixed(4)), c.alert]);
    expect(drops).toEqual([
      ["1", "offline_recall", Number(((0.7 - 0.8) / 0.7).toFixed(4)), false],
      ["2", "offline_recall", Number(((0.6 - 0.25) / 0.6).toFixed(4)), true],
      ["2", "previous_hit_rate", Number(((0.8 - 0.25) / 0.8).toFixed(4)), true],
      ["2", "previous_conversion_rate", 1, true],
    ]);
    expect(result.alerts).toHaveLength(3);
    expect(result.alerts[0]).toMatch(/two-tower version 2: online hit rate against offline recall@10 is 58\.3% below/);
  });

  it("does not alert within the tolerance, and skips versions with too few joined recommendations", async () => {
    const { byVersion } = await join();
    // Version 2: 16.7 % below 0.3 offline and 68.75 % below version 1's hit rate are within 70 %; its
    // conversion rate (0 against 0.2) is not.
    const lenient = outcomeAlerts(byVersion, new Map([["two-tower\u00002", 0.3]]), { maxDrop: 0.7, minServed: 1, offlineMetric: "recall@10" });
    expect(lenient.comparisons.filter((c) => c.alert).map((c) => c.baseline)).toEqual(["previous_conversion_rate"]);
    expect(lenient.skipped).toEqual([{ model: "two-tower", version: "1", reason: "no offline recall@10 found for this version" }]);
    const strict = outcomeAlerts(byVersion, new Map(), { maxDrop: 0.2, minServed: 5, offlineMetric: "recall@10" });
    expect(strict.comparisons).toEqual([]);
    expect(strict.skipped.map((s) => s.version)).toEqual(["1", "2"]);
    expect(strict.skipped[1]!.reason).toMatch(/4 joined recommendations, fewer than --min-served 5/);
  });
});
