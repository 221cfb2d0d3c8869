/**
 * A BERT-style (uncased) WordPiece tokenizer: vocabulary trained on a corpus, encoding for training, and its
 * Hugging Face `tokenizer.json` so serving reads the same vocabulary with a maintained library
 * (`@huggingface/tokenizers`). Normalisation and pre-tokenisation follow that library's BertNormalizer and
 * BertPreTokenizer step for step, and the encoder is its WordPiece greedy longest-match-first; a test and every
 * training run compare the ids of both on the corpus.
 */

export const SPECIAL_TOKENS = { pad: "[PAD]", unk: "[UNK]", cls: "[CLS]", sep: "[SEP]", mask: "[MASK]" } as const;
/** Fixed ids of the special tokens (the order BERT vocabularies use for the first few). */
const SPECIAL_ORDER = [SPECIAL_TOKENS.pad, SPECIAL_TOKENS.unk, SPECIAL_TOKENS.cls, SPECIAL_TOKENS.sep, SPECIAL_TOKENS.mask];
export const PAD_ID = 0;
const SUBWORD_PREFIX = "##";
/** Words longer than this become [UNK] (the BERT default). */
const MAX_CHARS_PER_WORD = 100;

const PUNCTUATION = "\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E";
const PRE_TOKEN_PATTERN = new RegExp(`[^\\s${PUNCTUATION}]+|[${PUNCTUATION}]`, "gu");
const CONTROL = /^(?:\p{Cc}|\p{Cf}|\p{Co}|\p{Cs})$/u;

function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** BertNormalizer(clean_text, handle_chinese_chars, lowercase, strip_accents = lowercase). */
export function normalizeText(text: string): string {
  let cleaned = "";
  for (const char of text) {
    const cp = char.charCodeAt(0);
    if (cp === 0 || cp === 0xfffd || (char !== "\t" && char !== "\n" && char !== "\r" && CONTROL.test(char))) continue;
    cleaned += /^\s$/.test(char) ? " " : char;
  }
  let spaced = "";
  // Per UTF-16 unit, as the serving library does (CJK outside the BMP is rare in reviews).
  for (let i = 0; i < cleaned.length; i++) {
    const char = cleaned[i]!;
    spaced += isChineseChar(char.charCodeAt(0)) ? ` ${char} ` : char;
  }
  return spaced.toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "");
}

/** BertPreTokenizer: runs of non-space, non-punctuation characters, and each punctuation character alone. */
export function preTokenize(normalized: string): string[] {
  return normalized.trim().match(PRE_TOKEN_PATTERN) ?? [];
}

export interface WordPieceTrainOptions {
  /** Target vocabulary size including the special tokens and the alphabet. */
  vocabSize: number;
  /** Characters seen fewer times than this are left out of the alphabet (they encode as [UNK]). */
  minCharFrequency?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Learns a WordPiece vocabulary the way the Hugging Face WordPiece trainer does: start from the alphabet
 * (word-initial characters and "##"-prefixed continuations), then repeatedly merge the most frequent adjacent
 * pair of symbols, counting pairs weighted by word frequency. Pair counts are updated incrementally from an
 * index of the words each pair occurs in, so a merge touches only those words.
 */
export function trainWordPiece(texts: Iterable<string>, options: WordPieceTrainOptions): string[] {
  const wordCounts = new Map<string, number>();
  for (const text of texts) for (const word of preTokenize(normalizeText(text))) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
  const charCounts = new Map<string, number>();
  for (const [word, count] of wordCounts) for (const c of word) charCounts.set(c, (charCounts.get(c) ?? 0) + count);
  const minChar = options.minCharFrequency ?? 2;
  const alphabet = new Set([...charCounts].filter(([, n]) => n >= minChar).map(([c]) => c));

  const vocab: string[] = [...SPECIAL_ORDER];
  const known = new Set(vocab);
  const add = (token: string): void => {
    if (!known.has(token)) {
      known.add(token);
      vocab.push(token);
    }
  };
  const words: { symbols: string[]; count: number }[] = [];
  for (const [word, count] of [...wordCounts].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const chars = [...word];
    if (chars.length > MAX_CHARS_PER_WORD || chars.some((c) => !alphabet.has(c))) continue;
    const symbols = chars.map((c, i) => (i === 0 ? c : SUBWORD_PREFIX + c));
    for (const s of symbols) add(s);
    words.push({ symbols, count });
  }
  // Sorted so the same corpus gives the same vocabulary whatever the row order.
  vocab.splice(SPECIAL_ORDER.length, vocab.length, ...vocab.slice(SPECIAL_ORDER.length).sort());

  const pairCounts = new Map<string, number>();
  const pairWords = new Map<string, Set<number>>();
  const key = (a: string, b: string): string => `${a} ${b}`;
  const countWord = (w: number, sign: 1 | -1): void => {
    const { symbols, count } = words[w]!;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const k = key(symbols[i]!, symbols[i + 1]!);
      pairCounts.set(k, (pairCounts.get(k) ?? 0) + sign * count);
      if (sign === 1) {
        const set = pairWords.get(k);
        if (set) set.add(w);
        else pairWords.set(k, new Set([w]));
      }
    }
  };
  for (let w = 0; w < words.length; w++) countWord(w, 1);

  const merges = Math.max(0, options.vocabSize - vocab.length);
  for (let m = 0; m < merges; m++) {
    let best = "";
    let bestCount = 0;
    for (const [k, n] of pairCounts) if (n > bestCount || (n === bestCount && n > 0 && k < best)) [best, bestCount] = [k, n];
    if (bestCount < 2) break;
    const [a, b] = best.split(" ") as [string, string];
    const merged = a + b.slice(SUBWORD_PREFIX.length);
    add(merged);
    for (const w of pairWords.get(best) ?? []) {
      countWord(w, -1);
      const s = words[w]!.symbols;
      const next: string[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          next.push(merged);
          i++;
        } else next.push(s[i]!);
      }
      words[w]!.symbols = next;
      countWord(w, 1);
    }
    pairWords.delete(best);
    pairCounts.delete(best);
    options.onProgress?.(m + 1, merges);
  }
  return vocab;
}

export interface EncodedText {
  /** [CLS] … [SEP], at most maxLength ids. */
  ids: number[];
  /** True when the text had more tokens than fit and its end was cut. */
  truncated: boolean;
}

/** Encodes with a WordPiece vocabulary exactly as the serving library does, plus right truncation. */
export class WordPieceTokenizer {
  readonly ids: Map<string, number>;
  private readonly cache = new Map<string, number[]>();
  private readonly unkId: number;

  constructor(readonly vocab: readonly string[]) {
    this.ids = new Map(vocab.map((t, i) => [t, i]));
    for (const [i, token] of SPECIAL_ORDER.entries()) {
      if (this.ids.get(token) !== i) throw new Error(`WordPiece vocabulary must start with ${SPECIAL_ORDER.join(", ")}; "${token}" is not at ${i}`);
    }
    this.unkId = this.ids.get(SPECIAL_TOKENS.unk)!;
  }

  get size(): number {
    return this.vocab.length;
  }

  /** Word pieces of the text without special tokens. */
  encodeWords(text: string): number[] {
    const out: number[] = [];
    for (const word of preTokenize(normalizeText(text))) {
      let pieces = this.cache.get(word);
      if (!pieces) {
        pieces = this.wordPieces(word);
        this.cache.set(word, pieces);
      }
      out.push(...pieces);
    }
    return out;
  }

  encode(text: string, maxLength: number): EncodedText {
    const words = this.encodeWords(text);
    const room = maxLength - 2;
    const truncated = words.length > room;
    return { ids: [this.ids.get(SPECIAL_TOKENS.cls)!, ...(truncated ? words.slice(0, room) : words), this.ids.get(SPECIAL_TOKENS.sep)!], truncated };
  }

  private wordPieces(word: string): number[] {
    const chars = [...word];
    if (chars.length > MAX_CHARS_PER_WORD) return [this.unkId];
    const pieces: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: number | undefined;
      while (start < end) {
        const sub = (start > 0 ? SUBWORD_PREFIX : "") + chars.slice(start, end).join("");
        found = this.ids.get(sub);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) return [this.unkId];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  /** The Hugging Face `tokenizer.json` (BERT uncased pipeline, right truncation at maxLength). */
  toTokenizerJson(maxLength: number): object {
    const id = (t: string): number => this.ids.get(t)!;
    const special = (t: string) => ({ id: t, ids: [id(t)], tokens: [t] });
    return {
      version: "1.0",
      truncation: { direction: "Right", max_length: maxLength, strategy: "LongestFirst", stride: 0 },
      padding: null,
      added_tokens: SPECIAL_ORDER.map((t) => ({ id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: "BertPreTokenizer" },
      post_processor: {
        type: "TemplateProcessing",
        single: [{ SpecialToken: { id: SPECIAL_TOKENS.cls, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: SPECIAL_TOKENS.sep, type_id: 0 } }],
        pair: [
          { SpecialToken: { id: SPECIAL_TOKENS.cls, type_id: 0 } },
          { Sequence: { id: "A", type_id: 0 } },
          { SpecialToken: { id: SPECIAL_TOKENS.sep, type_id: 0 } },
          { Sequence: { id: "B", type_id: 1 } },
          { SpecialToken: { id: SPECIAL_TOKENS.sep, type_id: 1 } },
        ],
        special_tokens: { [SPECIAL_TOKENS.cls]: special(SPECIAL_TOKENS.cls), [SPECIAL_TOKENS.sep]: special(SPECIAL_TOKENS.sep) },
      },
      decoder: { type: "WordPiece", prefix: SUBWORD_PREFIX, cleanup: true },
      model: {
        type: "WordPiece",
        unk_token: SPECIAL_TOKENS.unk,
        continuing_subword_prefix: SUBWORD_PREFIX,
        max_input_chars_per_word: MAX_CHARS_PER_WORD,
        vocab: Object.fromEntries(this.vocab.map((t, i) => [t, i])),
      },
    };
  }

  /** `tokenizer_config.json`, which transformers and tokenizer libraries read next to tokenizer.json. */
  static tokenizerConfig(maxLength: number): object {
    return {
      tokenizer_class: "BertTokenizerFast",
      do_lower_case: true,
      model_max_length: maxLength,
      unk_token: SPECIAL_TOKENS.unk,
      sep_token: SPECIAL_TOKENS.sep,
      pad_token: SPECIAL_TOKENS.pad,
      cls_token: SPECIAL_TOKENS.cls,
      mask_token: SPECIAL_TOKENS.mask,
      clean_up_tokenization_spaces: true,
    };
  }
}
