import { describe, expect, it } from "vitest";
import { FeedbackTokenizer } from "./feedback-tokenizer.js";

const tokenizer = new FeedbackTokenizer({
  lexicon: new Map([
    ["good", 1.9],
    [":)", 2],
    ["yes", 1.7],
    ["grrr", -0.4],
  ]),
  emoji: new Map([["😍", 2.4]]),
  corrections: new Map([["gud", "good"]]),
  vocabulary: new Set(["so"]),
});
const norms = (text: string): string[] => tokenizer.tokenize(text).map((token) => token.norm);

describe("FeedbackTokenizer", () => {
  it("splits words from punctuation and marks clause ends", () => {
    const tokens = tokenizer.tokenize("Good, really. Fine");
    expect(tokens.map((t) => t.norm)).toEqual(["good", "really", "fine"]);
    expect(tokens.map((t) => t.clauseEnd)).toEqual([true, true, false]);
    expect(tokens[0]?.surface).toBe("Good");
  });

  it("collapses elongated letters to the known word", () => {
    expect(norms("soooo gooood yessss")).toEqual(["so", "good", "yes"]);
    expect(tokenizer.tokenize("gooood")[0]?.elongated).toBe(true);
    expect(tokenizer.tokenize("good")[0]?.elongated).toBe(false);
    expect(tokenizer.tokenize("grrr")[0]).toMatchObject({ norm: "grrr", elongated: false });
  });

  it("applies the correction table and remembers the original", () => {
    const [token] = tokenizer.tokenize("gud");
    expect(token?.norm).toBe("good");
    expect(token?.correctedFrom).toBe("gud");
  });

  it("keeps emoticons and splits emoji off words", () => {
    const tokens = tokenizer.tokenize("nice :) love😍");
    expect(tokens.map((t) => [t.norm, t.kind])).toEqual([
      ["nice", "word"],
      [":)", "emoticon"],
      ["love", "word"],
      ["😍", "emoji"],
    ]);
  });

  it("joins tokenized negation and normalises apostrophes for phrase keys", () => {
    expect(tokenizer.tokenize("could n't")[0]?.key).toBe("couldnt");
    expect(tokenizer.tokenize("couldn’t")[0]?.key).toBe("couldnt");
    expect(tokenizer.tokenize("couldnt")[0]?.key).toBe("couldnt");
  });

  it("treats U+0085 as whitespace", () => {
    expect(norms("good\u0085fine")).toEqual(["good", "fine"]);
  });
});
