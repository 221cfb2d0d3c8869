import { describe, expect, it } from "vitest";
import { SpellingCorrector } from "./spelling-corrector.js";

const valences = new Map([
  ["terrible", -2.1],
  ["fail", -2.5],
  ["fails", -1.8],
  ["failed", -2.3],
  ["good", 1.9],
  ["goad", -1.0],
  ["ready", 1.5],
]);
const targets = new Set([...valences.keys(), "payment", "really", "again"]);
const corrector = (cacheEntries?: number) => new SpellingCorrector({ targets, valence: (word) => valences.get(word), cacheEntries });

describe("SpellingCorrector", () => {
  it("corrects a one-edit typo (swap, drop, insert, replace) to the word the scorer knows", () => {
    const spelling = corrector();
    expect(spelling.check("terribel")).toEqual({ english: true, correction: "terrible" });
    expect(spelling.check("paymnet")).toEqual({ english: true, correction: "payment" });
    expect(spelling.check("agian").correction).toBe("again");
  });

  it("prefers the more frequent of several candidates", () => {
    // "realy" is one edit from both "ready" and "really"; people mean "really" far more often.
    expect(corrector().check("realy").correction).toBe("really");
    expect(corrector().check("faild").correction).toMatch(/^fail/);
  });

  it("never rewrites a dictionary word, a short word or a word with digits", () => {
    const spelling = corrector();
    expect(spelling.check("grate")).toEqual({ english: true });
    expect(spelling.check("field")).toEqual({ english: true });
    expect(spelling.check("Visa".toLowerCase(), "Visa").english).toBe(true);
    expect(spelling.check("gud").correction).toBeUndefined();
    expect(spelling.check("g00d").correction).toBeUndefined();
  });

  it("refuses a correction when the candidates pull the score in opposite directions", () => {
    // "gosd" is one edit from "good" (+) and "goad" (−).
    expect(corrector().check("gosd")).toEqual({ english: false });
  });

  it("marks words it cannot place as not English", () => {
    expect(corrector().check("zahlung", "Zahlung")).toEqual({ english: false });
    expect(corrector().check("fehlgeschlagen")).toEqual({ english: false });
  });

  it("keeps its cache bounded and still answers the same after eviction", () => {
    const spelling = corrector(4);
    const words = ["terribel", "paymnet", "agian", "realy", "zahlung", "gosd", "terribel"];
    const first = words.map((word) => spelling.check(word));
    expect(first[6]).toEqual(first[0]);
    expect((spelling as unknown as { cache: Map<string, unknown> }).cache.size).toBeLessThanOrEqual(4);
  });
});
