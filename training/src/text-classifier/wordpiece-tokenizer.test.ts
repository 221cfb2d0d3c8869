import { Tokenizer } from "@huggingface/tokenizers";
import { describe, expect, it } from "vitest";
import { normalizeText, preTokenize, SPECIAL_TOKENS, trainWordPiece, WordPieceTokenizer } from "./wordpiece-tokenizer.js";

const corpus = [
  "The checkout was fast and the delivery was faster!",
  "I hated the slow, slow checkout... never again",
  "Loved it: great prices, great support",
  "Refund took weeks; terrible service",
  "unbelievably unhelpful and unfriendly staff",
  "Café crème was naïve — but fine",
];

describe("WordPiece tokenizer", () => {
  it("normalises and splits like BERT uncased", () => {
    expect(normalizeText("Café\u0000 NAÏVE\tOK")).toBe("cafe naive ok");
    expect(preTokenize(normalizeText("Don't stop!! 中文"))).toEqual(["don", "'", "t", "stop", "!", "!", "中", "文"]);
  });

  it("learns a vocabulary of the requested size: specials, the alphabet, then merges of frequent pairs", () => {
    const vocab = trainWordPiece(corpus, { vocabSize: 90, minCharFrequency: 1 });
    expect(vocab.slice(0, 5)).toEqual(Object.values(SPECIAL_TOKENS));
    expect(new Set(vocab).size).toBe(vocab.length);
    expect(vocab.length).toBeLessThanOrEqual(90);
    // "the" and "checkout" are frequent, so merges build them into whole-word tokens.
    expect(vocab).toContain("the");
    expect(vocab).toContain("##s");
    // Same corpus in another order: the same vocabulary.
    expect(trainWordPiece([...corpus].reverse(), { vocabSize: 90, minCharFrequency: 1 })).toEqual(vocab);
  });

  it("gives the same ids as @huggingface/tokenizers reading the tokenizer.json it writes", () => {
    const tokenizer = new WordPieceTokenizer(trainWordPiece(corpus, { vocabSize: 80, minCharFrequency: 1 }));
    const library = new Tokenizer(tokenizer.toTokenizerJson(64), WordPieceTokenizer.tokenizerConfig(64));
    const texts = [...corpus, "ÜNÏCÖDÉ and emoji 😍 and unseen words like zyxwvut", "  spaces\n\nand\ttabs  ", "中文 mixed", "a".repeat(150), ""];
    for (const text of texts) expect(tokenizer.encode(text, 1000).ids).toEqual(library.encode(text).ids);
  });

  it("truncates to maxLength keeping [CLS] and [SEP], and says so", () => {
    const tokenizer = new WordPieceTokenizer(trainWordPiece(corpus, { vocabSize: 80, minCharFrequency: 1 }));
    const long = tokenizer.encode(corpus.join(" "), 8);
    expect(long.truncated).toBe(true);
    expect(long.ids).toHaveLength(8);
    expect(long.ids[0]).toBe(tokenizer.ids.get(SPECIAL_TOKENS.cls));
    expect(long.ids[7]).toBe(tokenizer.ids.get(SPECIAL_TOKENS.sep));
    expect(tokenizer.encode("fast", 8).truncated).toBe(false);
  });

  it("refuses a vocabulary without the special tokens first", () => {
    expect(() => new WordPieceTokenizer(["a", "b"])).toThrow(/must start with \[PAD\]/);
  });
});
