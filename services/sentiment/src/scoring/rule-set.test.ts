import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_RULES_PATH, RuleScorer } from "./index.js";
import { loadRuleSet } from "./rule-set.js";

const original = JSON.parse(readFileSync(DEFAULT_RULES_PATH, "utf8")) as Record<string, any>;
const correctionsName = original.corrections as string;
const corrections = readFileSync(new URL(`../../rules/${correctionsName}`, import.meta.url), "utf8");

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "rule-set-"));
  writeFileSync(join(dir, correctionsName), corrections);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeRules(content: unknown): string {
  const file = join(dir, "rules.json");
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

function withChange(change: (rules: Record<string, any>) => void): string {
  const copy = structuredClone(original);
  change(copy);
  return writeRules(copy);
}

describe("loadRuleSet", () => {
  it("loads the bundled rule set with every page present", () => {
    const ruleSet = loadRuleSet(DEFAULT_RULES_PATH);
    expect(ruleSet.version).toBe(original.version);
    for (const page of ["home", "search", "payment", "confirmation"] as const) expect(ruleSet.pages[page].length).toBeGreaterThan(0);
    expect(ruleSet.corrections.size).toBeGreaterThan(0);
  });

  it("uses a copied rule file and reports its own version", () => {
    const file = withChange((rules) => {
      rules.version = "page-rules.test-copy";
    });
    expect(RuleScorer.load({ rulesPath: file }).ruleSetVersion).toBe("page-rules.test-copy");
  });

  it.each([
    ["a weight that is not a number", (r: any) => (r.pages.payment[0].weight = "heavy"), /pages\.payment\.0\.weight/],
    ["a weight outside the lexicon range", (r: any) => (r.general[1].weight = 9), /general\.1\.weight/],
    ["a missing version", (r: any) => delete r.version, /field version/],
    ["an unknown page", (r: any) => (r.pages.checkout = []), /pages/],
    ["a rule without phrases", (r: any) => (r.pages.search[0].phrases = []), /pages\.search\.0\.phrases/],
    ["a page rule id outside its page", (r: any) => (r.pages.home[0].id = "page.payment.stolen"), /pages\.home\.0\.id.*page\.home\./],
    ["a duplicate rule id", (r: any) => (r.general[1].id = r.general[0].id), /general\.1\.id: duplicate/],
  ])("rejects %s, naming the file and field", (_what, change, field) => {
    const file = withChange(change);
    expect(() => RuleScorer.load({ rulesPath: file })).toThrow(field);
    expect(() => RuleScorer.load({ rulesPath: file })).toThrow(file);
  });

  it("rejects a phrase that has no words", () => {
    const file = withChange((rules) => {
      rules.pages.payment[0].phrases = ["?!"];
    });
    expect(() => RuleScorer.load({ rulesPath: file })).toThrow(/pages\.payment\.0\.phrases\.0/);
  });

  it("rejects a phrase that two rules on the same page claim", () => {
    const file = withChange((rules) => {
      rules.pages.payment[1].phrases.push(rules.general[0].phrases[0]);
    });
    expect(() => RuleScorer.load({ rulesPath: file })).toThrow(/pages\.payment\.1\.phrases\.\d+: .* is already a phrase of rule phrase\./);
  });

  it("rejects text that is not JSON and a file that does not exist", () => {
    const file = writeRules("{ version: 1,");
    expect(() => RuleScorer.load({ rulesPath: file })).toThrow(new RegExp(`${file}.*not valid JSON`));
    expect(() => RuleScorer.load({ rulesPath: join(dir, "missing.json") })).toThrow(/missing\.json: cannot read rule set/);
  });

  it("rejects a broken correction table, naming that file", () => {
    writeFileSync(join(dir, correctionsName), JSON.stringify({ version: "c1", corrections: { Gud: "good" } }));
    const file = writeRules(original);
    expect(() => RuleScorer.load({ rulesPath: file })).toThrow(new RegExp(`${correctionsName}.*field corrections\\.Gud`));
  });
});
