import { describe, expect, it } from "vitest";
import { DEVICES } from "@funnel/two-tower";
import { generateDataset } from "./generate-dataset.js";
import { fingerprintEvents, splitEvents } from "./split.js";

const { events } = generateDataset({ users: 2_000, seed: 11, items: 300 });

describe("splitEvents", () => {
  it("time: splits 70/15/15 by timestamp with no overlap between parts", () => {
    const { train, validation, test } = splitEvents(events, { strategy: "time", seed: 1 });
    expect(train.length + validation.length + test.length).toBe(events.length);
    expect(train.length / events.length).toBeCloseTo(0.7, 2);
    expect(validation.length / events.length).toBeCloseTo(0.15, 2);
    const maxTrain = Math.max(...train.map((e) => e.timestamp));
    const minValidation = Math.min(...validation.map((e) => e.timestamp));
    const maxValidation = Math.max(...validation.map((e) => e.timestamp));
    const minTest = Math.min(...test.map((e) => e.timestamp));
    expect(maxTrain).toBeLessThan(minValidation);
    expect(maxValidation).toBeLessThan(minTest);
  });

  it("time: honours custom ratios", () => {
    const { train, validation, test } = splitEvents(events, { strategy: "time", ratios: [0.5, 0.25, 0.25], seed: 1 });
    expect(train.length / events.length).toBeCloseTo(0.5, 2);
    expect(validation.length / events.length).toBeCloseTo(0.25, 2);
    expect(test.length / events.length).toBeCloseTo(0.25, 2);
  });

  it("user: puts each user in exactly one part, 70/15/15 of users within every device stratum", () => {
    const split = splitEvents(events, { strategy: "user", seed: 5 });
    const partsOf = new Map<string, Set<string>>();
    for (const part of ["train", "validation", "test"] as const) {
      for (const e of split[part]) {
        let parts = partsOf.get(e.userId);
        if (!parts) {
          parts = new Set();
          partsOf.set(e.userId, parts);
        }
        parts.add(part);
      }
    }
    expect([...partsOf.values()].every((p) => p.size === 1)).toBe(true);

    // Main device per user, recomputed here from raw counts.
    const counts = new Map<string, Record<string, number>>();
    for (const e of events) {
      const c = counts.get(e.userId) ?? { desktop: 0, mobile: 0, tablet: 0 };
      c[e.device]!++;
      counts.set(e.userId, c);
    }
    for (const device of DEVICES) {
      const users = [...counts].filter(([, c]) => DEVICES.reduce((a, d) => (c[d]! > c[a]! ? d : a)) === device).map(([u]) => u);
      const inPart = (part: string): number => users.filter((u) => partsOf.get(u)!.has(part)).length;
      expect(users.length).toBeGreaterThan(100);
      expect(Math.abs(inPart("train") - 0.7 * users.length)).toBeLessThanOrEqual(1);
      expect(Math.abs(inPart("validation") - 0.15 * users.length)).toBeLessThanOrEqual(1);
      expect(Math.abs(inPart("test") - 0.15 * users.length)).toBeLessThanOrEqual(1);
    }
  });

  it("user: is reproducible for a seed, independent of input order, and changes with the seed", () => {
    const a = splitEvents(events, { strategy: "user", seed: 5 });
    const b = splitEvents([...events].reverse(), { strategy: "user", seed: 5 });
    const c = splitEvents(events, { strategy: "user", seed: 6 });
    const users = (x: typeof a): string[] => [...new Set(x.test.map((e) => e.userId))].sort();
    expect(users(b)).toEqual(users(a));
    expect(users(c)).not.toEqual(users(a));
  });

  it("rejects ratios that do not add up to 1 and unknown strategies", () => {
    expect(() => splitEvents(events, { strategy: "time", ratios: [0.7, 0.2, 0.2], seed: 1 })).toThrow(
      "ratios must be three numbers >= 0 that sum to 1, got [0.7,0.2,0.2]",
    );
    expect(() => splitEvents(events, { strategy: "random" as "time", seed: 1 })).toThrow('strategy must be "time", "user" or "leave-last"');
  });

  it("leave-last holds out each user's last n interactions for test and the n before for validation", () => {
    const at = (userId: string, t: number, itemId: string) => ({ ...events[0]!, userId, timestamp: t, itemId });
    // Out of time order on purpose; u3 has a tie at t=5 (input order breaks it).
    const log = [at("u1", 3, "c"), at("u1", 1, "a"), at("u1", 2, "b"), at("u1", 5, "e"), at("u1", 4, "d"), at("u2", 1, "a"), at("u2", 2, "b"), at("u3", 5, "x"), at("u3", 5, "y"), at("u3", 1, "w"), at("u4", 9, "z")];
    const split = splitEvents(log, { strategy: "leave-last", holdoutLast: 2, seed: 1 });
    const ids = (part: typeof log) => part.map((e) => `${e.userId}:${e.itemId}`).sort();
    // u1 (5 events): 1 train, 2 validation, 2 test; u2 and u4 (<= n): all train; u3 (3 <= 2n): 1 train, 2 test.
    expect(ids(split.test)).toEqual(["u1:d", "u1:e", "u3:x", "u3:y"]);
    expect(ids(split.validation)).toEqual(["u1:b", "u1:c"]);
    expect(ids(split.train)).toEqual(["u1:a", "u2:a", "u2:b", "u3:w", "u4:z"]);
    const one = splitEvents(log, { strategy: "leave-last", seed: 1 });
    expect(ids(one.test)).toEqual(["u1:e", "u2:b", "u3:y"]);
    expect(() => splitEvents(log, { strategy: "leave-last", holdoutLast: 0, seed: 1 })).toThrow("holdoutLast must be an integer >= 1");
  });
});

describe("splitEvents with refit", () => {
  it("merges validation into train in input order and leaves test unchanged, for every strategy", () => {
    const { events } = generateDataset({ users: 120, seed: 5, items: 60 });
    for (const strategy of ["leave-last", "time", "user"] as const) {
      const options = { strategy, seed: 3, holdoutLast: 2 };
      const plain = splitEvents(events, options);
      const refit = splitEvents(events, { ...options, refit: true });
      expect(plain.validation.length).toBeGreaterThan(0);
      expect(refit.validation).toEqual([]);
      expect(refit.test).toEqual(plain.test);
      const merged = new Set([...plain.train, ...plain.validation]);
      expect(refit.train).toEqual(events.filter((e) => merged.has(e)));
    }
  });
});

describe("fingerprintEvents", () => {
  it("ignores row order but sees any change of a field", () => {
    const small = events.slice(0, 50);
    const base = fingerprintEvents(small);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintEvents([...small].reverse())).toBe(base);
    const changed = small.map((e, i) => (i === 10 ? { ...e, durationSeconds: e.durationSeconds + 0.1 } : e));
    expect(fingerprintEvents(changed)).not.toBe(base);
    const withText = small.map((e, i) => (i === 3 ? { ...e, text: "new" } : e));
    expect(fingerprintEvents(withText)).not.toBe(base);
  });
});
