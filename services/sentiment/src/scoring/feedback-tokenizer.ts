import type { LexiconLemmatizer } from "./lexicon-lemmatizer.js";
import type { SpellingCorrector } from "./spelling-corrector.js";

/** One token of shopper feedback, with the facts the scorer needs about how it was written. */
export interface FeedbackToken {
  /** surface form after edge punctuation is removed (case kept, for ALL CAPS emphasis) */
  surface: string;
  /** lower-case form after elongation collapse, spelling correction and lemmatization: the lexicon key */
  norm: string;
  /** `norm` without apostrophes, so "couldnt", "couldn't" and "could n't" match the same phrase */
  key: string;
  kind: "word" | "emoji" | "emoticon";
  /** the word had a letter repeated three or more times ("soooo") */
  elongated: boolean;
  /** the misspelling that the correction table or the spelling corrector replaced */
  correctedFrom?: string;
  /** an English word as written or after correction (false for words the dictionary does not know) */
  english: boolean;
  /** the token closed a clause (.,;:!?): negation and intensifiers do not reach across it */
  clauseEnd: boolean;
  /** the token closed a sentence (.!?) */
  sentenceEnd?: boolean;
}

export interface FeedbackTokenizerOptions {
  /** lower-case tokens, including emoticons such as ":)" (VADER keeps them in its lexicon) */
  lexicon: ReadonlyMap<string, number>;
  emoji: ReadonlyMap<string, number>;
  corrections: ReadonlyMap<string, string>;
  /** other words the scorer knows (boosters, negations, phrase words): used to undo elongation */
  vocabulary: ReadonlySet<string>;
  /** corrects words outside the table and the lexicon; without it only the table applies */
  spelling?: SpellingCorrector;
  /** lexicon entry behind an inflected word outside the lexicon; without it no lemmatization */
  lemmas?: LexiconLemmatizer;
}

// U+0085 (NEL) is not in JavaScript's \s but occurs in real review text.
const WHITESPACE = /[\s\u0085]+/u;
const PICTOGRAPH = /\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier}|\u200D\p{Extended_Pictographic})*/gu;
const IS_PICTOGRAPH = /\p{Extended_Pictographic}/u;
// Presentation selectors and skin tones do not change what an emoji says.
const EMOJI_VARIANTS = /\uFE0F|\p{Emoji_Modifier}/gu;
const EDGE_PUNCTUATION = /^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu;
const INNER_SEPARATOR = /[^\p{L}\p{N}'-]+/u;
const CLAUSE_END = /[.,;:!?]$/;
const SENTENCE_END = /[.!?]$/;
const HAS_PUNCTUATION = /[^\p{L}\p{N}]/u;
const LETTER_RUN = /(\p{L})\1{2,}/gu;
const HAS_LETTER_RUN = /(\p{L})\1{2,}/u;
// Above this many elongated runs in one word the combinations explode; the rest collapse to two letters.
const MAX_ELONGATED_RUNS = 4;

/** Splits feedback into words, emoji and emoticons, undoing elongation and common misspellings. */
export class FeedbackTokenizer {
  constructor(private readonly options: FeedbackTokenizerOptions) {}

  tokenize(text: string): FeedbackToken[] {
    const tokens: FeedbackToken[] = [];
    const spaced = text.replace(/[\u2018\u2019\u02bc]/g, "'").replace(PICTOGRAPH, " $& ");
    for (const raw of spaced.split(WHITESPACE)) {
      if (raw === "") continue;
      const emoticon = this.emoticon(raw);
      if (emoticon !== undefined) {
        tokens.push(emoticon);
        continue;
      }
      const emoji = raw.replace(EMOJI_VARIANTS, "");
      if (IS_PICTOGRAPH.test(raw)) {
        if (this.options.emoji.has(emoji)) {
          tokens.push({ surface: raw, norm: emoji, key: emoji, kind: "emoji", elongated: false, clauseEnd: false, english: true });
        }
        continue;
      }
      const clauseEnd = CLAUSE_END.test(raw);
      const parts = raw.replace(EDGE_PUNCTUATION, "").split(INNER_SEPARATOR).filter((part) => part !== "");
      parts.forEach((part, index) => {
        const last = index === parts.length - 1;
        // Tokenized corpora (SST-2) write "could n't": join it back so negation is seen as one word.
        const previous = tokens[tokens.length - 1];
        if (part.toLowerCase() === "n't" && previous?.kind === "word" && !previous.clauseEnd) {
          previous.surface += part;
          previous.norm += "n't";
          previous.key = previous.norm.replace(/'/g, "");
          previous.clauseEnd = last && clauseEnd;
          return;
        }
        tokens.push(this.word(part, last && clauseEnd));
      });
      const closing = tokens[tokens.length - 1];
      if (closing && SENTENCE_END.test(raw)) closing.sentenceEnd = true;
    }
    return tokens;
  }

  private emoticon(raw: string): FeedbackToken | undefined {
    if (!HAS_PUNCTUATION.test(raw)) return undefined;
    for (const candidate of [raw, raw.replace(/[.,;!?]+$/, "")]) {
      const lower = candidate.toLowerCase();
      if (candidate !== "" && HAS_PUNCTUATION.test(candidate) && this.options.lexicon.has(lower)) {
        return { surface: candidate, norm: lower, key: lower, kind: "emoticon", elongated: false, clauseEnd: candidate !== raw, english: true };
      }
    }
    return undefined;
  }

  private word(surface: string, clauseEnd: boolean): FeedbackToken {
    const lower = surface.toLowerCase();
    let norm = lower;
    let elongated = false;
    // Some lexicon entries are themselves stretched ("grrr", "zzz"): only collapse words the scorer does not know.
    if (HAS_LETTER_RUN.test(lower) && !this.known(lower)) {
      norm = this.collapse(lower);
      elongated = true;
    }
    const token: FeedbackToken = { surface, norm, key: norm, kind: "word", elongated, clauseEnd, english: true };
    const verdict = this.known(norm) ? undefined : this.options.spelling?.check(norm, surface);
    const correction = this.options.corrections.get(norm) ?? verdict?.correction;
    if (correction !== undefined) {
      token.correctedFrom = lower;
      token.norm = correction;
    } else if (verdict !== undefined) {
      token.english = verdict.english;
    }
    token.key = token.norm.replace(/'/g, "");
    // The lemma serves the lexicon lookup only: the phrase key keeps the word as written (or corrected).
    const lemma = this.options.lexicon.has(token.norm) ? undefined : this.options.lemmas?.lemma(token.norm);
    if (lemma !== undefined) token.norm = lemma;
    return token;
  }

  /** "soooo" → "so", "gooood" → "good": tries each run at two and at one letter, first known word wins. */
  private collapse(word: string): string {
    const runs = [...word.matchAll(LETTER_RUN)];
    const choices = runs.slice(0, MAX_ELONGATED_RUNS);
    const candidates: string[] = [];
    for (let mask = 0; mask < 1 << choices.length; mask++) {
      let index = 0;
      candidates.push(
        word.replace(LETTER_RUN, (_run, letter: string) => {
          const single = index < choices.length && (mask & (1 << index)) !== 0;
          index++;
          return single ? letter : letter + letter;
        }),
      );
    }
    const known = candidates.find((candidate) => this.known(candidate));
    return known ?? candidates[0] ?? word;
  }

  private known(word: string): boolean {
    const { lexicon, corrections, vocabulary } = this.options;
    return lexicon.has(word) || corrections.has(word) || vocabulary.has(word);
  }
}
