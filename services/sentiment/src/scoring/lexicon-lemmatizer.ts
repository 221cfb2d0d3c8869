/// <reference path="./wink-lemmatizer.d.ts" />
import lemmatizer from "wink-lemmatizer";

// Inflected forms are few; a bound keeps memory flat on open-ended text all the same.
const MAX_CACHED = 50_000;

/**
 * Finds the lexicon entry behind an inflected word ("scammed" → "scam", "crappiest" → "crappy") with
 * wink-lemmatizer (WordNet exceptions plus suffix rules). Only a lemma the lexicon rates is returned: the
 * lemma replaces the word for the lexicon lookup alone, never for phrase matching.
 */
export class LexiconLemmatizer {
  private readonly cache = new Map<string, string | null>();

  constructor(private readonly lexicon: ReadonlyMap<string, number>) {}

  lemma(word: string): string | undefined {
    const cached = this.cache.get(word);
    if (cached !== undefined) return cached ?? undefined;
    // Adjective first: "happier" is the adjective "happy" far more often than anything else.
    const found = [lemmatizer.adjective(word), lemmatizer.verb(word), lemmatizer.noun(word)].find(
      (lemma) => lemma !== word && this.lexicon.has(lemma),
    );
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(word, found ?? null);
    return found;
  }
}
