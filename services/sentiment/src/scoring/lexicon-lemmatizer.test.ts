import { describe, expect, it } from "vitest";
import { LexiconLemmatizer } from "./lexicon-lemmatizer.js";
import { RuleScorer } from "./rule-scorer.js";
import { loadVaderResources } from "./vader-resources.js";

const { lexicon } = loadVaderResources();

describe("LexiconLemmatizer", () => {
  it("finds the lexicon entry behind an inflected word", () => {
    const lemmas = new LexiconLemmatizer(lexicon);
    for (const [word, lemma] of [
      ["lacks", "lack"],
      ["lacking", "lack"],
      ["crashes", "crash"],
    ]) {
      expect(lexicon.has(word!)).toBe(false);
      expect(lemmas.lemma(word!)).toBe(lemma);
    }
  });

  it("returns nothing when the lemma is not in the lexicon", () => {
    const lemmas = new LexiconLemmatizer(lexicon);
    expect(lemmas.lemma("tables")).toBeUndefined();
    expect(lemmas.lemma("scammed")).toBeUndefined();
  });

  it("lets the scorer rate an inflection the lexicon lacks, without touching phrase matching", () => {
    const scorer = RuleScorer.load();
    const result = scorer.score("the app lacks a size filter");
    expect(result.contributions.map((c) => c.term)).toContain("lacks→lack");
    expect(result.label).toBe("negative");
    // "crashes" has the lemma "crash" but stays "crashes" for the phrase rule that lists it.
    expect(scorer.score("the app crashes").contributions.map((c) => c.rule)).toContain("phrase.crashing");
  });
});
