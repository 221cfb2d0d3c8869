import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RULES_PATH, type PageName, RuleScorer, type SentimentScore } from "./index.js";

let scorer: RuleScorer;
beforeAll(() => {
  scorer = RuleScorer.load();
});

const score = (text: string, page?: PageName): number => scorer.score(text, page).score;
const rules = (result: SentimentScore): string[] => result.contributions.map((c) => c.rule);

describe("RuleScorer lexicon behaviour", () => {
  it("flips a negated sentiment word", () => {
    expect(score("good")).toBeGreaterThan(0);
    expect(score("not good")).toBeLessThan(0);
    expect(score("this isn't good")).toBeLessThan(0);
    expect(rules(scorer.score("not good"))).toContain("negation");
  });

  it("does not carry negation across a sentence boundary", () => {
    expect(score("It is not cheap. Great product")).toBeGreaterThan(0);
  });

  it("treats 'no' before a negative word as negation, not as a negative word", () => {
    expect(score("no problems")).toBeGreaterThan(0);
    expect(score("no complaints whatsoever")).toBeGreaterThan(0);
  });

  it("strengthens a word after an intensifier and weakens it after a dampener", () => {
    expect(score("very good")).toBeGreaterThan(score("good"));
    expect(score("extremely bad")).toBeLessThan(score("bad"));
    expect(score("slightly good")).toBeLessThan(score("good"));
    expect(rules(scorer.score("very good"))).toContain("intensifier");
  });

  it("lets a page rule decide where the general lexicon has nothing to say", () => {
    expect(score("my card was declined", "payment")).toBeLessThan(score("my card was declined", "home"));
    expect(score("found exactly what I needed", "search")).toBeGreaterThan(score("found exactly what I needed", "home"));
  });

  it("weights the clause after 'but' more than the one before", () => {
    expect(score("good but slow")).toBeLessThan(0);
    expect(score("slow but good")).toBeGreaterThan(0);
    expect(score("good but bad")).toBeLessThan(0);
    expect(score("bad but good")).toBeGreaterThan(0);
    const contrast = scorer.score("good but slow").contributions.find((c) => c.rule === "contrast");
    expect(contrast?.term).toBe("but");
  });

  it("scores emoji by their valence", () => {
    expect(score("😍")).toBeGreaterThan(0);
    expect(score("😡")).toBeLessThan(0);
    expect(score("the delivery😡")).toBeLessThan(0);
    expect(score("👍🏽")).toBeGreaterThan(0);
    expect(score("❤️ it")).toBeGreaterThan(0);
    expect(score("❤ it")).toBeGreaterThan(0);
    expect(rules(scorer.score("😍"))).toEqual(["emoji"]);
  });

  it("scores emoticons from the VADER lexicon, also with trailing punctuation", () => {
    expect(score("arrived today :)")).toBeGreaterThan(0);
    expect(score("arrived today :(")).toBeLessThan(0);
    expect(score("arrived today :(.")).toBeLessThan(0);
    expect(rules(scorer.score("arrived today :)"))).toContain("emoticon");
  });

  it("adds emphasis for ALL CAPS words among lower-case ones, and for exclamation marks", () => {
    expect(score("this is GREAT")).toBeGreaterThan(score("this is great"));
    expect(score("this is TERRIBLE")).toBeLessThan(score("this is terrible"));
    expect(rules(scorer.score("this is GREAT"))).toContain("emphasis.caps");
    // When everything is in caps nothing stands out, so no caps emphasis.
    expect(rules(scorer.score("THIS IS GREAT"))).not.toContain("emphasis.caps");
    expect(score("great!!!")).toBeGreaterThan(score("great"));
    expect(score("awful!!!")).toBeLessThan(score("awful"));
    expect(rules(scorer.score("great!!!"))).toContain("emphasis.punctuation");
  });

  it("reads elongated words as the word, with emphasis", () => {
    expect(score("sooooo gooood")).toBeGreaterThan(score("good"));
    expect(score("baaaad")).toBeLessThan(0);
    const terms = scorer.score("gooood").contributions;
    expect(terms.map((c) => c.rule)).toEqual(["lexicon", "emphasis.elongation"]);
    expect(terms[0]?.term).toContain("good");
  });

  it("corrects chat spellings from the correction table and one-edit typos from the dictionary", () => {
    const ruleFile = JSON.parse(readFileSync(DEFAULT_RULES_PATH, "utf8")) as { corrections: string };
    const table = JSON.parse(readFileSync(new URL(`../../rules/${ruleFile.corrections}`, import.meta.url), "utf8")) as {
      corrections: Record<string, string>;
    };
    expect(table.corrections.gud).toBe("good");
    expect(score("gud")).toBe(score("good"));
    expect(table.corrections.terible).toBeUndefined();
    expect(score("terible")).toBeLessThan(0);
    expect(score("terible")).toBe(score("terrible"));
    expect(score("awsome")).toBeGreaterThan(0);
    expect(rules(scorer.score("awsome"))).toContain("lexicon.corrected");
  });

  it("is neutral and unsure when nothing carries sentiment", () => {
    const result = scorer.score("The parcel came on Tuesday");
    expect(result.label).toBe("neutral");
    expect(result.unsure).toBe(true);
    expect(result.contributions).toEqual([]);
    expect(result.confidence).toBe(0);
  });

  it("keeps score, confidence and contributions consistent", () => {
    for (const text of ["very good but a bit slow!!", "😍😍 love it", "never got confirmation, not happy", "meh"]) {
      const result = scorer.score(text, "confirmation");
      expect(result.score).toBeGreaterThanOrEqual(-1);
      expect(result.score).toBeLessThanOrEqual(1);
      expect(result.confidence).toBeGreaterThanOrEqual(0);
      expect(result.confidence).toBeLessThanOrEqual(1);
      expect(result.method).toBe("rules");
      // The score is VADER's normalisation of the summed contributions, so the list fully explains it.
      const sum = result.contributions.reduce((total, c) => total + c.weight, 0);
      expect(result.score).toBeCloseTo(sum / Math.sqrt(sum * sum + 15), 10);
      expect(Math.sign(result.score)).toBe(result.label === "positive" ? 1 : result.label === "negative" ? -1 : Math.sign(result.score));
    }
  });

  it("is more confident with more agreeing evidence", () => {
    expect(scorer.score("great, excellent, love it").confidence).toBeGreaterThan(scorer.score("fine").confidence);
  });

  it("honours the neutral threshold option", () => {
    const wide = RuleScorer.load({ neutralThreshold: 0.9 });
    const text = "good";
    expect(scorer.score(text).label).toBe("positive");
    expect(wide.score(text).label).toBe("neutral");
    expect(() => RuleScorer.load({ neutralThreshold: 2 })).toThrow(/neutralThreshold/);
  });
});

describe("RuleScorer phrase and page rules", () => {
  const ruleFile = JSON.parse(readFileSync(DEFAULT_RULES_PATH, "utf8")) as { version: string };

  it("names the rule set version from the data file", () => {
    expect(scorer.ruleSetVersion).toBe(ruleFile.version);
    expect(scorer.score("ok").ruleSetVersion).toBe(ruleFile.version);
  });

  it("applies general e-commerce phrases on any page", () => {
    const waste = scorer.score("total waste of money");
    expect(waste.score).toBeLessThan(0);
    expect(rules(waste)).toContain("phrase.waste-of-money");
    expect(score("stopped working after a week")).toBeLessThan(0);
    expect(score("I highly recommend this seller")).toBeGreaterThan(0);
    expect(score("I would not recommend this seller")).toBeLessThan(0);
    expect(score("it doesn't work")).toBeLessThan(0);
  });

  it("flips a phrase rule after a negation word", () => {
    expect(score("it never stopped working")).toBeGreaterThan(0);
  });

  const families: { page: PageName; text: string; rule: string; sign: 1 | -1 }[] = [
    { page: "home", text: "the site looks cheap and cluttered", rule: "page.home.first-impression-negative", sign: -1 },
    { page: "home", text: "easy to navigate, a trusted brand", rule: "page.home.brand-trust", sign: 1 },
    { page: "search", text: "I couldn't find the charger", rule: "page.search.not-found", sign: -1 },
    { page: "search", text: "no results for blue shoes", rule: "page.search.not-found", sign: -1 },
    { page: "search", text: "found exactly the lamp I wanted", rule: "page.search.found-exactly", sign: 1 },
    { page: "product", text: "these shoes run true to size", rule: "page.product.fit-good", sign: 1 },
    { page: "payment", text: "my card was declined", rule: "page.payment.declined", sign: -1 },
    { page: "payment", text: "card rejected again", rule: "page.payment.declined", sign: -1 },
    { page: "payment", text: "secure checkout with my bank", rule: "page.payment.secure", sign: 1 },
    { page: "confirmation", text: "order confirmed within seconds", rule: "page.confirmation.order-confirmed", sign: 1 },
  ];
  for (const { page, text, rule, sign } of families) {
    it(`${rule} moves "${text}" ${sign > 0 ? "up" : "down"} on the ${page} page only`, () => {
      const onPage = scorer.score(text, page);
      expect(rules(onPage)).toContain(rule);
      expect(Math.sign(onPage.score)).toBe(sign);
      const otherPage: PageName = page === "payment" ? "home" : "payment";
      expect(rules(scorer.score(text, otherPage))).not.toContain(rule);
      expect(rules(scorer.score(text))).not.toContain(rule);
      const contribution = onPage.contributions.find((c) => c.rule === rule);
      expect(Math.sign(contribution?.weight ?? 0)).toBe(sign);
    });
  }

  it("prefers the longest phrase that matches", () => {
    const result = scorer.score("no confirmation email at all", "confirmation");
    expect(result.contributions.filter((c) => c.rule === "phrase.no-confirmation").map((c) => c.term)).toEqual([
      "no confirmation email",
    ]);
  });

  it("matches phrases written without apostrophes or in tokenized form", () => {
    for (const text of ["couldnt find it", "could n't find it", "Couldn’t find it"]) {
      expect(rules(scorer.score(text, "search"))).toContain("page.search.not-found");
    }
  });
});

describe("RuleScorer.scoreBatch", () => {
  it("returns one result per item in the same order, equal to scoring one by one", () => {
    const items: { text: string; page?: PageName }[] = [
      { text: "love it 😍" },
      { text: "charged twice", page: "payment" },
      { text: "the box is brown" },
      { text: "terrible, never again", page: "home" },
      { text: "charged twice", page: "home" },
    ];
    const batch = scorer.scoreBatch(items);
    expect(batch).toHaveLength(items.length);
    batch.forEach((result, index) => {
      const item = items[index]!;
      expect(result).toEqual(scorer.score(item.text, item.page));
    });
    expect(batch.map((r) => r.label)).toEqual(["positive", "negative", "neutral", "negative", batch[4]!.label]);
    expect(scorer.scoreBatch([])).toEqual([]);
  });
});

describe("RuleScorer on e-commerce feedback", () => {
  it("corrects misspellings outside the correction table with the dictionary", () => {
    const typo = scorer.score("terribel experiance, the paymnet faild", "payment");
    expect(typo.label).toBe("negative");
    expect(typo.contributions.map((c) => c.term)).toContain("terribel→terrible");
    expect(scorer.score("realy grate product, wud buy agian", "product").label).toBe("positive");
    // Real words are not "corrected" into sentiment words.
    expect(scorer.score("I grate the cheese").label).toBe("neutral");
  });

  it("can switch spelling correction off, leaving the table", () => {
    const plain = RuleScorer.load({ spellingCorrection: false });
    expect(plain.score("terribel experiance").label).toBe("neutral");
    expect(plain.score("gud").label).toBe("positive");
  });

  it.each([
    ["the checkout kept crashing", "payment"],
    ["they lost my order", "confirmation"],
    ["my parcel never arrived", undefined],
    ["the site asked for my card PIN", "payment"],
    ["is this site even legit", "home"],
    ["the price is a joke", "product"],
    ["total rip-off", undefined],
  ] as [string, PageName | undefined][])("reads the failure event or idiom in %j as negative", (text, page) => {
    expect(scorer.score(text, page).label).toBe("negative");
  });

  it("weights a crash on the payment page more than elsewhere", () => {
    expect(score("the checkout kept crashing", "payment")).toBeLessThan(score("the checkout kept crashing", "home"));
  });

  it("reads positive idioms that a word lexicon gets wrong", () => {
    expect(scorer.score("these boots are to die for").label).toBe("positive");
    expect(scorer.score("the price is a steal").label).toBe("positive");
  });

  it("lets a failure event outweigh polite words in the same sentence", () => {
    const sarcastic = scorer.score("Wow, thanks for losing my order again", "confirmation");
    expect(sarcastic.label).toBe("negative");
    expect(rules(sarcastic)).toContain("event.outweighs-praise");
    // Without the event the same politeness is positive, and praise after "but" still counts.
    expect(scorer.score("Wow, thanks for the quick delivery").label).toBe("positive");
    expect(rules(scorer.score("My order never arrived, but support was great and refunded me"))).not.toContain("event.outweighs-praise");
    expect(scorer.score("My order never arrived, but support was great and refunded me").label).toBe("positive");
  });

  it("lets the clause after 'but' decide", () => {
    expect(scorer.score("Good prices, but my order never arrived", "confirmation").label).toBe("negative");
    expect(scorer.score("The payment failed twice, but support fixed it quickly", "payment").label).toBe("positive");
    // However much praise comes first.
    const praiseFirst = "Absolutely love the colours, gorgeous design, amazing price, but the checkout kept crashing";
    expect(scorer.score(praiseFirst, "payment").label).toBe("negative");
    expect(scorer.score("Terrible packaging, awful courier, horrible wait, but the product itself is good").label).toBe("positive");
  });
});

describe("RuleScorer on hand-written shop feedback with mixed signals (issue 18)", () => {
  const scorer = RuleScorer.load();
  const file = fileURLToPath(new URL("../../scripts/testdata/shop-feedback-mixed.tsv", import.meta.url));
  const rows = readFileSync(file, "utf8").trim().split("\n").slice(1).map((line) => line.split("\t"));

  it("gets every case right with a non-neutral answer: irony around a failure event is negative, a smooth payment is positive", () => {
    expect(rows.length).toBeGreaterThanOrEqual(20);
    const wrong = rows
      .map(([text, label]) => ({ text: text!, want: label === "1" ? "positive" : "negative", got: scorer.score(text!).label }))
      .filter((r) => r.got !== r.want);
    expect(wrong).toEqual([]);
  });

  it("a double charge is a failure event on any page, and praise in the next sentence does not cancel a lost order", () => {
    const lost = scorer.score("Wow, thanks for losing my order again. Amazing service.");
    expect(lost.label).toBe("negative");
    expect(lost.contributions.filter((c) => c.rule === "event.outweighs-praise").map((c) => c.term)).toEqual(["Wow", "thanks", "Amazing"]);
    expect(scorer.score("great, charged twice").contributions.map((c) => c.rule)).toContain("phrase.double-charge");
    // Praise after a contrast still counts: the event is answered, not ironic.
    expect(scorer.score("They lost my order but support was amazing and sent a new one the next day.").score).toBeGreaterThan(0);
  });
});
