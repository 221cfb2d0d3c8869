import { beforeAll, describe, expect, it } from "vitest";
import { RuleScorer } from "./index.js";

let scorer: RuleScorer;
beforeAll(() => {
  scorer = RuleScorer.load();
});
const language = (text: string) => scorer.score(text).language;

describe("language detection in the scorer", () => {
  it("names the language of clearly non-English feedback", () => {
    expect(language("Die Zahlung ist fehlgeschlagen und niemand antwortet auf meine E-Mails")).toBe("deu");
    expect(language("La livraison est arrivée en retard et le colis était abîmé")).toBe("fra");
    expect(language("El pedido nunca llegó y nadie responde a mis correos")).toBe("spa");
  });

  it("keeps short texts and typo-heavy English as English", () => {
    for (const text of ["great product", "Die!", "terribel experiance, the paymnet faild", "realy grate product, wud buy agian", "Gracias 👍", "ok"]) {
      expect({ text, language: language(text) }).toEqual({ text, language: "eng" });
    }
  });

  it("answers neutral, unsure, confidence 0 and flagged for a language without rules, whatever English words it holds", () => {
    // "die" and "gift" are English sentiment words; in German they mean "the" and "poison".
    const result = scorer.score("Die Zahlung ist fehlgeschlagen, das Produkt ist ein Gift für die Umwelt", "payment");
    expect(result).toMatchObject({ label: "neutral", score: 0, confidence: 0, unsure: true, unsupportedLanguage: true, language: "deu" });
    expect(result.contributions).toEqual([]);
    expect(scorer.score("terrible service, never again").unsupportedLanguage).toBe(false);
  });
});
