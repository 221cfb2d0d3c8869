import { describe, expect, it } from "vitest";
import type { SentimentLabelName, SentimentScore } from "../scoring/index.js";
import { FeedbackAggregator, type Group, UNSPECIFIED } from "./index.js";

function sentiment(label: SentimentLabelName, score: number): SentimentScore {
  return { label, score, confidence: 1, method: "rules", contributions: [], ruleSetVersion: "test", unsure: false, language: "eng", unsupportedLanguage: false, words: 3 };
}
const byKey = (groups: Group[], key: string) => groups.find((group) => group.key === key)?.distribution;

describe("FeedbackAggregator", () => {
  it("summarises an empty aggregator as zero counts", () => {
    const summary = new FeedbackAggregator().summary();
    expect(summary.overall).toEqual({ count: 0, positive: 0, neutral: 0, negative: 0, meanScore: 0 });
    expect(summary.byPage).toEqual([]);
  });

  it("counts labels and averages scores overall and per page", () => {
    const aggregator = new FeedbackAggregator();
    const scores = [0.8, -0.4, 0, 0.6];
    aggregator.add({ userId: "u1", page: "payment", score: sentiment("positive", scores[0]!) });
    aggregator.add({ userId: "u1", page: "payment", score: sentiment("negative", scores[1]!) });
    aggregator.add({ userId: "u2", page: "home", score: sentiment("neutral", scores[2]!) });
    aggregator.add({ userId: "u3", page: "home", score: sentiment("positive", scores[3]!) });
    const summary = aggregator.summary();
    expect(summary.overall.count).toBe(4);
    expect(summary.overall.positive + summary.overall.neutral + summary.overall.negative).toBe(4);
    expect(summary.overall.positive).toBe(2);
    expect(summary.overall.meanScore).toBeCloseTo(scores.reduce((a, b) => a + b, 0) / scores.length, 12);
    expect(byKey(summary.byPage, "payment")).toMatchObject({ count: 2, positive: 1, negative: 1 });
    expect(byKey(summary.byPage, "payment")?.meanScore).toBeCloseTo((scores[0]! + scores[1]!) / 2, 12);
    expect(byKey(summary.byUser, "u1")?.count).toBe(2);
    expect(summary.byUser.map((group) => group.key)).toEqual(["u1", "u2", "u3"]);
  });

  it("puts records without page, device or timestamp under 'unspecified' and drops nothing", () => {
    const aggregator = new FeedbackAggregator();
    aggregator.add({ userId: "u1", score: sentiment("neutral", 0) });
    aggregator.add({ userId: "u2", page: "search", device: "mobile", timestamp: new Date(), score: sentiment("positive", 0.5) });
    const summary = aggregator.summary();
    for (const grouping of [summary.byPage, summary.byDevice, summary.byHour, summary.byDay]) {
      expect(byKey(grouping, UNSPECIFIED)?.count).toBe(1);
      expect(grouping.reduce((total, group) => total + group.distribution.count, 0)).toBe(summary.overall.count);
    }
  });

  it("buckets timestamps by UTC hour and UTC day, sorted by key", () => {
    const aggregator = new FeedbackAggregator();
    // 23:30 at UTC-05:00 is 04:30 UTC the next day: buckets must follow UTC, not the offset written.
    const times = ["2026-11-26T14:05:00Z", "2026-11-26T14:59:59.999Z", "2026-11-26T15:00:00Z", "2026-11-25T23:30:00-05:00"];
    for (const time of times) aggregator.add({ userId: "u", timestamp: new Date(time), score: sentiment("positive", 0.5) });
    const summary = aggregator.summary();
    expect(summary.byHour.map((group) => [group.key, group.distribution.count])).toEqual([
      ["2026-11-26T04:00:00Z", 1],
      ["2026-11-26T14:00:00Z", 2],
      ["2026-11-26T15:00:00Z", 1],
    ]);
    expect(summary.byDay.map((group) => [group.key, group.distribution.count])).toEqual([["2026-11-26", 4]]);
  });

  it("groups by device and sorts keys", () => {
    const aggregator = new FeedbackAggregator();
    for (const device of ["tablet", "desktop", "mobile", "desktop"] as const) {
      aggregator.add({ userId: "u", device, score: sentiment("negative", -0.5) });
    }
    const keys = aggregator.summary().byDevice.map((group) => group.key);
    expect(keys).toEqual([...keys].sort());
    expect(byKey(aggregator.summary().byDevice, "desktop")?.negative).toBe(2);
  });

  it("rejects an invalid timestamp or score with a clear error", () => {
    const aggregator = new FeedbackAggregator();
    expect(() => aggregator.add({ userId: "u", timestamp: new Date("not a date"), score: sentiment("neutral", 0) })).toThrow(/timestamp/);
    expect(() => aggregator.add({ userId: "u", score: sentiment("neutral", Number.NaN) })).toThrow(/score/);
    expect(aggregator.summary().overall.count).toBe(0);
  });

  it("keeps memory per distinct key, not per observation", () => {
    const aggregator = new FeedbackAggregator();
    for (let i = 0; i < 10_000; i++) {
      aggregator.add({ userId: `u${i % 3}`, page: "home", score: sentiment("positive", 0.1) });
    }
    const summary = aggregator.summary();
    expect(summary.byUser).toHaveLength(3);
    expect(summary.byPage).toHaveLength(1);
    expect(summary.overall.count).toBe(10_000);
  });
});
