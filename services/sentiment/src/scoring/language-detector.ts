import { francAll } from "franc-min";
import type { FeedbackToken } from "./feedback-tokenizer.js";

/** ISO 639-3 code of the language the rules are written for. */
export const RULES_LANGUAGE = "eng";

// Below this many words no detector is reliable (franc's own docs: short input is a guess), so the text is
// scored as English: a short English review must never lose its label to a misdetection.
const MIN_WORDS = 4;
const MIN_LETTERS = 20;
// Text where at least this share of words is English (dictionary, after spelling correction) is English
// whatever the detector says; the detector only runs on the rest, which also keeps it off the hot path.
const ENGLISH_SHARE = 0.6;
// franc scores languages relative to the best (1.0). Another language counts only when English trails it
// clearly; typo-heavy English lands close behind French or Romanian and must stay English.
const ENGLISH_MAX_RELATIVE = 0.85;

const LETTER = /\p{L}/gu;
const ONLY_LETTERS = /^[\p{L}'-]+$/u;

/**
 * The language a text is in, as far as the scorer needs to know: "eng" unless the text is long enough, mostly
 * made of words that are not English, and franc (trigram statistics, franc-min's 82 languages) is confident
 * it is another language.
 */
export function detectLanguage(text: string, tokens: readonly FeedbackToken[]): string {
  // Numbers and codes ("90-minute", "a4") say nothing about the language.
  const words = tokens.filter((token) => token.kind === "word" && ONLY_LETTERS.test(token.surface));
  if (words.length < MIN_WORDS) return RULES_LANGUAGE;
  const english = words.filter((token) => token.english).length;
  if (english / words.length >= ENGLISH_SHARE) return RULES_LANGUAGE;
  if ((text.match(LETTER) ?? []).length < MIN_LETTERS) return RULES_LANGUAGE;
  const ranked = francAll(text, { minLength: MIN_LETTERS });
  const [best, bestScore] = ranked[0] ?? ["und", 0];
  if (best === "und" || best === RULES_LANGUAGE || bestScore <= 0) return RULES_LANGUAGE;
  const englishScore = ranked.find(([language]) => language === RULES_LANGUAGE)?.[1] ?? 0;
  return englishScore > ENGLISH_MAX_RELATIVE ? RULES_LANGUAGE : best;
}
