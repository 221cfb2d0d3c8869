import { describe, expect, it } from "vitest";
import { SentimentIntensityAnalyzer } from "vader-sentiment";
import { RuleScorer } from "./index.js";
import { loadVaderResources } from "./vader-resources.js";

describe("loadVaderResources", () => {
  const vader = loadVaderResources();

  it("reads the lexicon, negations, boosters and constants of the installed package", () => {
    expect(vader.lexicon.size).toBeGreaterThan(7000);
    expect(vader.lexicon.get("good")).toBeGreaterThan(0);
    expect(vader.lexicon.get(":(")).toBeLessThan(0);
    expect(vader.negations.has("not")).toBe(true);
    expect(vader.negations.has("good")).toBe(false);
    expect(vader.boosters.get("very")).toBeGreaterThan(0);
    expect(vader.boosters.get("slightly")).toBeLessThan(0);
    expect(vader.boosters.get("kind of")).toBeLessThan(0);
    expect(vader.capsIncrement).toBeGreaterThan(0);
    expect(vader.negationScalar).toBeLessThan(0);
    expect(vader.packageVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("agrees in sign with the package's own scorer on every alphabetic lexicon word", () => {
    const scorer = RuleScorer.load();
    const words = [...vader.lexicon.keys()].filter((word) => /^[a-z]{3,}$/.test(word));
    expect(words.length).toBeGreaterThan(7000);
    for (const word of words) {
      const ours = Math.sign(scorer.score(`it was ${word}`).score);
      const theirs = Math.sign(SentimentIntensityAnalyzer.polarity_scores(`it was ${word}`).compound);
      expect({ word, sign: ours }).toEqual({ word, sign: theirs });
    }
  }, 30_000);
});
