import { fileURLToPath } from "node:url";
import { loadEmojiValences } from "./emoji-valences.js";
import { type FeedbackToken, FeedbackTokenizer } from "./feedback-tokenizer.js";
import { detectLanguage, RULES_LANGUAGE } from "./language-detector.js";
import { LexiconLemmatizer } from "./lexicon-lemmatizer.js";
import { loadRuleSet, PAGE_NAMES, type PhraseRule, type RuleSet } from "./rule-set.js";
import { SpellingCorrector } from "./spelling-corrector.js";
import { loadVaderResources, type VaderResources } from "./vader-resources.js";

export type PageName = "home" | "search" | "product" | "payment" | "confirmation";
export type SentimentLabelName = "negative" | "neutral" | "positive";
/** One signed push on the score: a lexicon term, a phrase rule, or a modifier acting on one of them. */
export interface Contribution {
  term: string;
  weight: number;
  rule: string;
}
export interface SentimentScore {
  label: SentimentLabelName;
  /** in [-1, 1] */
  score: number;
  /** in [0, 1] */
  confidence: number;
  method: "rules";
  contributions: Contribution[];
  ruleSetVersion: string;
  /** true when rules found little evidence: the transformer fallback will use this later */
  unsure: boolean;
  /** ISO 639-3 code of the language the text was taken to be in; rules exist for "eng" only */
  language: string;
  /** the text is in a language without rules: label neutral, confidence 0, no contributions */
  unsupportedLanguage: boolean;
  /** word tokens in the text: the hybrid policy's length bucket */
  words: number;
}
export interface RuleScorerOptions {
  /** rule set JSON; its "corrections" field names the correction table, relative to it */
  rulesPath?: string;
  /** |score| below this is neutral; default 0.05, VADER's own cut-off */
  neutralThreshold?: number;
  /** correct misspelled words outside the correction table (Hunspell dictionary); default true */
  spellingCorrection?: boolean;
}

export const DEFAULT_RULES_PATH = fileURLToPath(new URL("../../rules/page-rules.v3.json", import.meta.url));

// VADER's normalisation constant: score = sum / sqrt(sum² + alpha) approaches ±1 for large sums.
const NORMALIZE_ALPHA = 15;
// VADER's empirically derived amplifiers (amplify_ep / amplify_qm in vader-sentiment); not exported there.
const EXCLAMATION_STEP = 0.292;
const MAX_EXCLAMATIONS = 4;
const QUESTION_STEP = 0.18;
const QUESTION_CAP = 0.96;
// VADER scales the clause before "but" down and the clause after it up.
const BEFORE_CONTRAST = 0.5;
const AFTER_CONTRAST = 1.5;
// When the two sides disagree, the side before "but" keeps at most this share of the weight after it, so the
// clause after decides the sign however much praise came first (measured: no change on UCI, SST-2 -0.0001).
const AFTER_DOMINANCE = 0.8;
const CONTRAST_WORDS = new Set(["but", "however"]);
// Modifiers further back count less (VADER: 1, 0.95, 0.9 for one, two, three words back).
const DISTANCE_DAMPING = [1, 0.95, 0.9];
const LOOK_BACK = 3;
// |score| at or beyond this is a clear polar call (a single strong word such as "great" reaches it).
const FULL_STRENGTH_SCORE = 0.5;
// Below this confidence the rules alone should not be trusted; the transformer fallback takes over.
const UNSURE_BELOW = 0.2;

interface CompiledPhrase {
  keys: string[];
  rule: PhraseRule;
}

interface Term {
  start: number;
  end: number;
  valence: number;
  fromPhrase: boolean;
  /** a failure event (lost order, crash, non-delivery) from a rule marked `event` */
  event: boolean;
  contributions: Contribution[];
}

type PhraseIndex = ReadonlyMap<string, readonly CompiledPhrase[]>;

function sign(value: number): number {
  return value < 0 ? -1 : 1;
}

function isAllCaps(surface: string): boolean {
  return /\p{Lu}/u.test(surface) && !/\p{Ll}/u.test(surface);
}

function describe(token: FeedbackToken): string {
  const original = token.surface.toLowerCase();
  return original === token.norm ? token.surface : `${token.surface}→${token.norm}`;
}

/**
 * Lexicon scorer in the manner of VADER (same lexicon, booster words, negations and constants, read from the
 * vader-sentiment package), extended with emoji, elongation, misspelling correction, clause-bounded
 * negation, a contrast rule that also applies to phrases, and weighted phrase rules per funnel page.
 */
export class RuleScorer {
  readonly ruleSetVersion: string;
  private readonly tokenizer: FeedbackTokenizer;
  private readonly phraseIndexes: ReadonlyMap<PageName | undefined, PhraseIndex>;

  private constructor(
    private readonly vader: VaderResources,
    private readonly emoji: ReadonlyMap<string, number>,
    ruleSet: RuleSet,
    private readonly neutralThreshold: number,
    spellingCorrection: boolean,
  ) {
    this.ruleSetVersion = ruleSet.version;
    const rules = [ruleSet.general, ...PAGE_NAMES.map((page) => ruleSet.pages[page])].flat();
    const vocabulary = new Set<string>([...vader.negations, ...vader.boosters.keys()]);
    for (const rule of rules) {
      for (const phrase of rule.phrases) for (const word of phrase.toLowerCase().split(/[^\p{L}\p{N}']+/u)) vocabulary.add(word);
    }
    const spelling = spellingCorrection
      ? new SpellingCorrector({ targets: new Set([...vader.lexicon.keys(), ...vocabulary]), valence: (word) => vader.lexicon.get(word) })
      : undefined;
    const lemmas = new LexiconLemmatizer(vader.lexicon);
    this.tokenizer = new FeedbackTokenizer({ lexicon: vader.lexicon, emoji, corrections: ruleSet.corrections, vocabulary, spelling, lemmas });
    const general = { rules: ruleSet.general, field: "general" };
    const indexes = new Map<PageName | undefined, PhraseIndex>();
    indexes.set(undefined, this.compile([general], ruleSet.file));
    for (const page of PAGE_NAMES) {
      indexes.set(page, this.compile([general, { rules: ruleSet.pages[page], field: `pages.${page}` }], ruleSet.file));
    }
    this.phraseIndexes = indexes;
  }

  /** Reads and validates the rule files; a malformed file throws an error naming the file and field. */
  static load(options: RuleScorerOptions = {}): RuleScorer {
    const threshold = options.neutralThreshold ?? 0.05;
    if (!Number.isFinite(threshold) || threshold < 0 || threshold >= 1) {
      throw new Error(`neutralThreshold must be a number in [0, 1), got ${String(options.neutralThreshold)}`);
    }
    const ruleSet = loadRuleSet(options.rulesPath ?? DEFAULT_RULES_PATH);
    return new RuleScorer(loadVaderResources(), loadEmojiValences(), ruleSet, threshold, options.spellingCorrection ?? true);
  }

  /** Scores one text; assumes it has already been validated as non-empty. */
  score(text: string, page?: PageName): SentimentScore {
    const tokens = this.tokenizer.tokenize(text);
    const language = detectLanguage(text, tokens);
    const wordCount = tokens.filter((token) => token.kind === "word").length;
    if (language !== RULES_LANGUAGE) {
      // English words inside another language ("Die Zahlung", "a gift") would give a confident wrong label.
      return {
        label: "neutral",
        score: 0,
        confidence: 0,
        method: "rules",
        contributions: [],
        ruleSetVersion: this.ruleSetVersion,
        unsure: true,
        language,
        unsupportedLanguage: true,
        words: wordCount,
      };
    }
    const terms = this.findTerms(tokens, page);
    const words = tokens.filter((token) => token.kind === "word" && token.surface.length > 1);
    const capsCount = words.filter((token) => isAllCaps(token.surface)).length;
    // Caps only emphasise when the writer did not type everything in caps (VADER's cap differential).
    const capsDifferential = capsCount > 0 && capsCount < words.length;
    for (const term of terms) this.applyModifiers(term, tokens, capsDifferential);
    this.applyEventPrecedence(terms, tokens);
    const contrast = this.applyContrast(terms, tokens);

    const contributions = terms.flatMap((term) => term.contributions);
    if (contrast) contributions.push(contrast);
    let sum = contributions.reduce((total, contribution) => total + contribution.weight, 0);
    const emphasis = this.punctuationEmphasis(text);
    if (sum !== 0 && emphasis.amount > 0) {
      const weight = sign(sum) * emphasis.amount;
      contributions.push({ term: emphasis.marks, weight, rule: "emphasis.punctuation" });
      sum += weight;
    }

    const score = sum / Math.sqrt(sum * sum + NORMALIZE_ALPHA);
    const evidence = terms.filter((term) => term.valence !== 0).length;
    const label: SentimentLabelName =
      score >= this.neutralThreshold && score > 0 ? "positive" : score <= -this.neutralThreshold && score < 0 ? "negative" : "neutral";
    // Strength of the decision times how much evidence backs it: one term gives 0.63, three give 0.95.
    const strength =
      label === "neutral"
        ? 1 - Math.abs(score) / Math.max(this.neutralThreshold, Number.EPSILON)
        : Math.min(1, Math.abs(score) / FULL_STRENGTH_SCORE);
    const coverage = 1 - Math.exp(-evidence);
    const confidence = Math.min(1, Math.max(0, strength * coverage));
    return {
      label,
      score,
      confidence,
      method: "rules",
      contributions: contributions.filter((contribution) => contribution.weight !== 0),
      ruleSetVersion: this.ruleSetVersion,
      unsure: evidence === 0 || confidence < UNSURE_BELOW,
      language,
      unsupportedLanguage: false,
      words: wordCount,
    };
  }

  /** Scores many texts; the result has the same length and order as `items`. */
  scoreBatch(items: { text: string; page?: PageName }[]): SentimentScore[] {
    return items.map((item) => this.score(item.text, item.page));
  }

  private compile(sources: { rules: readonly PhraseRule[]; field: string }[], file: string): PhraseIndex {
    const index = new Map<string, CompiledPhrase[]>();
    const owners = new Map<string, string>();
    for (const { rules, field } of sources) {
      for (const [ruleIndex, rule] of rules.entries()) {
        for (const [phraseIndex, phrase] of rule.phrases.entries()) {
          const keys = this.tokenizer.tokenize(phrase).map((token) => token.key);
          const first = keys[0];
          if (first === undefined) {
            throw new Error(`${file}: invalid rule file: field ${field}.${ruleIndex}.phrases.${phraseIndex}: "${phrase}" has no words`);
          }
          // The same words under two rules would make the winner depend on file order.
          const owner = owners.get(keys.join(" "));
          if (owner !== undefined) {
            throw new Error(`${file}: invalid rule file: field ${field}.${ruleIndex}.phrases.${phraseIndex}: "${phrase}" is already a phrase of rule ${owner}`);
          }
          owners.set(keys.join(" "), rule.id);
          const list = index.get(first) ?? [];
          list.push({ keys, rule });
          index.set(first, list);
        }
      }
    }
    // Longest phrase first, so "no confirmation email" wins over "no confirmation".
    for (const list of index.values()) list.sort((a, b) => b.keys.length - a.keys.length);
    return index;
  }

  private matchPhrase(tokens: FeedbackToken[], start: number, index: PhraseIndex): CompiledPhrase | undefined {
    const first = tokens[start];
    if (first === undefined) return undefined;
    return index.get(first.key)?.find((phrase) =>
      phrase.keys.every((key, offset) => {
        const token = tokens[start + offset];
        // A phrase may not run across a clause boundary ("not working. great" is not "working great").
        const crossesClause = offset > 0 && tokens[start + offset - 1]?.clauseEnd === true;
        return token !== undefined && token.key === key && !crossesClause;
      }),
    );
  }

  private findTerms(tokens: FeedbackToken[], page: PageName | undefined): Term[] {
    const index = this.phraseIndexes.get(page) ?? new Map();
    const terms: Term[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      const phrase = this.matchPhrase(tokens, i, index);
      if (phrase) {
        const end = i + phrase.keys.length;
        const text = tokens.slice(i, end).map((t) => t.surface).join(" ");
        terms.push({
          start: i,
          end,
          valence: phrase.rule.weight,
          fromPhrase: true,
          event: phrase.rule.event === true,
          contributions: [{ term: text, weight: phrase.rule.weight, rule: phrase.rule.id }],
        });
        i = end - 1;
        continue;
      }
      if (this.vader.boosters.has(token.norm)) continue;
      const next = tokens[i + 1];
      if (next && this.vader.boosters.has(`${token.norm} ${next.norm}`)) {
        i++;
        continue;
      }
      // "no problems": "no" negates the next sentiment word instead of counting as negative itself.
      if (token.norm === "no" && next && !token.clauseEnd && this.vader.lexicon.has(next.norm)) continue;
      const valence = token.kind === "emoji" ? this.emoji.get(token.norm) : this.vader.lexicon.get(token.norm);
      if (valence === undefined || valence === 0) continue;
      const rule = token.kind === "word" ? "lexicon" : token.kind;
      const contributions: Contribution[] = [{ term: describe(token), weight: valence, rule }];
      if (token.correctedFrom !== undefined) contributions[0]!.rule = "lexicon.corrected";
      terms.push({ start: i, end: i + 1, valence, fromPhrase: false, event: false, contributions });
    }
    return terms;
  }

  private isNegation(token: FeedbackToken): boolean {
    return this.vader.negations.has(token.norm) || token.norm.endsWith("n't") || token.norm === "no";
  }

  /** Caps, elongation, intensifiers and negation within three words before the term, as VADER does. */
  private applyModifiers(term: Term, tokens: FeedbackToken[], capsDifferential: boolean): void {
    const push = (contribution: Contribution): void => {
      if (contribution.weight === 0) return;
      term.contributions.push(contribution);
      term.valence += contribution.weight;
    };
    const head = tokens[term.start]!;
    if (!term.fromPhrase && head.kind === "word") {
      if (capsDifferential && head.surface.length > 1 && isAllCaps(head.surface)) {
        push({ term: head.surface, weight: sign(term.valence) * this.vader.capsIncrement, rule: "emphasis.caps" });
      }
      if (head.elongated) {
        // Stretching a word ("gooood") emphasises it about as much as one booster word.
        push({ term: head.surface, weight: sign(term.valence) * this.vader.boosters.get("very")!, rule: "emphasis.elongation" });
      }
    }

    const window: FeedbackToken[] = [];
    for (let j = term.start - 1; j >= 0 && window.length < LOOK_BACK; j--) {
      const token = tokens[j]!;
      if (token.clauseEnd) break;
      // VADER drops one-letter words ("a", "i") before looking back.
      if (token.kind === "word" && token.surface.length < 2) continue;
      window.push(token);
    }
    for (let distance = 0; distance < window.length; distance++) {
      const word = window[distance]!;
      const damping = DISTANCE_DAMPING[distance] ?? 0;
      const farther = window[distance + 1];
      const booster = this.vader.boosters.get(word.norm) ?? (farther ? this.vader.boosters.get(`${farther.norm} ${word.norm}`) : undefined);
      if (booster !== undefined && !this.vader.lexicon.has(word.norm)) {
        let scalar = booster * sign(term.valence);
        if (capsDifferential && isAllCaps(word.surface)) scalar += sign(term.valence) * this.vader.capsIncrement;
        push({ term: word.surface, weight: scalar * damping, rule: "intensifier" });
      }
      const leastNegates = word.norm === "least" && distance === 0 && farther?.norm !== "at" && farther?.norm !== "very";
      if (this.isNegation(word) || leastNegates) {
        push({ term: word.surface, weight: term.valence * this.vader.negationScalar - term.valence, rule: "negation" });
      }
    }
  }

  /**
   * Praise in the same sentence as a failure event, or in the sentence just before or after it, with no
   * "but" between them, is politeness or irony ("Wow, thanks for losing my order again. Amazing service."):
   * the event is what happened, so the praise stops counting. Praise two sentences away, or after a
   * contrast ("... but support sorted it out"), still counts.
   */
  private applyEventPrecedence(terms: Term[], tokens: FeedbackToken[]): void {
    const events = terms.filter((term) => term.event && term.valence < 0);
    if (events.length === 0) return;
    const sentence: number[] = [];
    let current = 0;
    for (const token of tokens) {
      sentence.push(current);
      if (token.sentenceEnd) current++;
    }
    const contrastBetween = (from: number, to: number): boolean => {
      for (let i = Math.min(from, to); i < Math.max(from, to); i++) if (CONTRAST_WORDS.has(tokens[i]!.norm)) return true;
      return false;
    };
    for (const term of terms) {
      if (term.fromPhrase || term.valence <= 0) continue;
      const outweighed = events.some((event) => Math.abs(sentence[event.start]! - sentence[term.start]!) <= 1 && !contrastBetween(term.start, event.start));
      if (!outweighed) continue;
      term.contributions.push({ term: tokens[term.start]!.surface, weight: -term.valence, rule: "event.outweighs-praise" });
      term.valence = 0;
    }
  }

  /** The clause after "but"/"however" outweighs the one before it and decides the sign; returns the net change. */
  private applyContrast(terms: Term[], tokens: FeedbackToken[]): Contribution | undefined {
    let at = -1;
    tokens.forEach((token, index) => {
      if (CONTRAST_WORDS.has(token.norm)) at = index;
    });
    if (at === -1) return undefined;
    let delta = 0;
    for (const term of terms) {
      const factor = term.end <= at ? BEFORE_CONTRAST : term.start > at ? AFTER_CONTRAST : 1;
      delta += term.valence * (factor - 1);
      term.valence *= factor;
    }
    const before = terms.filter((term) => term.end <= at);
    const beforeSum = before.reduce((sum, term) => sum + term.valence, 0);
    const after = terms.filter((term) => term.start > at).reduce((sum, term) => sum + term.valence, 0);
    if (after !== 0 && Math.sign(after) !== Math.sign(beforeSum) && Math.abs(beforeSum) > Math.abs(after) * AFTER_DOMINANCE) {
      const scale = (Math.abs(after) * AFTER_DOMINANCE) / Math.abs(beforeSum);
      for (const term of before) {
        delta += term.valence * (scale - 1);
        term.valence *= scale;
      }
    }
    return delta === 0 ? undefined : { term: tokens[at]!.surface, weight: delta, rule: "contrast" };
  }

  private punctuationEmphasis(text: string): { amount: number; marks: string } {
    const exclamations = Math.min((text.match(/!/g) ?? []).length, MAX_EXCLAMATIONS);
    const questions = (text.match(/\?/g) ?? []).length;
    const questionAmount = questions <= 1 ? 0 : questions <= 3 ? questions * QUESTION_STEP : QUESTION_CAP;
    return { amount: exclamations * EXCLAMATION_STEP + questionAmount, marks: "!".repeat(exclamations) + "?".repeat(questions > 1 ? Math.min(questions, 4) : 0) };
  }
}
