import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import type { PageName } from "./rule-scorer.js";

export const PAGE_NAMES: readonly PageName[] = ["home", "search", "product", "payment", "confirmation"];

/** A weighted phrase rule: any of `phrases` (one or more words) moves the score by `weight` (VADER scale). */
export interface PhraseRule {
  id: string;
  weight: number;
  phrases: string[];
  /** a failure event (lost order, crash, non-delivery): praise in the same sentence does not offset it */
  event?: boolean;
}

/** The validated content of a rule set file and the correction table it references. */
export interface RuleSet {
  version: string;
  file: string;
  general: PhraseRule[];
  pages: Record<PageName, PhraseRule[]>;
  /** lower-case misspelling → replacement word */
  corrections: ReadonlyMap<string, string>;
}

// Weights beyond VADER's own lexicon range would let one phrase drown every other signal.
const weight = z.number().finite().min(-4).max(4);
const phraseRule = z.strictObject({
  id: z.string().regex(/^[a-z0-9]+(\.[a-z0-9-]+)+$/, "rule id must look like page.payment.double-charge"),
  weight,
  phrases: z.array(z.string().trim().min(1)).min(1),
  event: z.boolean().optional(),
});
const ruleFile = z.strictObject({
  version: z.string().trim().min(1),
  description: z.string().optional(),
  corrections: z.string().min(1),
  general: z.array(phraseRule),
  pages: z.strictObject({
    home: z.array(phraseRule).optional(),
    search: z.array(phraseRule).optional(),
    product: z.array(phraseRule).optional(),
    payment: z.array(phraseRule).optional(),
    confirmation: z.array(phraseRule).optional(),
  }),
});
const correctionFile = z.strictObject({
  version: z.string().trim().min(1),
  description: z.string().optional(),
  corrections: z.record(
    z.string().regex(/^[^\sA-Z]+$/, "misspelling keys must be one lower-case token"),
    z.string().regex(/^\S+$/, "a correction must be one word"),
  ),
});

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`${file}: cannot read ${what}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: ${what} is not valid JSON: ${(error as Error).message}`);
  }
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `field ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  throw new Error(`${file}: invalid rule file: ${problems.join("; ")}`);
}

/**
 * Reads and validates a rule set file and its correction table. Every problem names the file and the field
 * path (e.g. `pages.payment.0.weight`) so a broken edit is found without reading code.
 */
export function loadRuleSet(path: string): RuleSet {
  const file = resolve(path);
  const raw = parseOrThrow(ruleFile, readJson(file, "rule set"), file);

  const seen = new Set<string>();
  const checkIds = (rules: PhraseRule[], field: string, prefix: string): void => {
    rules.forEach((rule, index) => {
      if (!rule.id.startsWith(prefix)) {
        throw new Error(`${file}: invalid rule file: field ${field}.${index}.id: "${rule.id}" must start with "${prefix}"`);
      }
      if (seen.has(rule.id)) {
        throw new Error(`${file}: invalid rule file: field ${field}.${index}.id: duplicate rule id "${rule.id}"`);
      }
      seen.add(rule.id);
    });
  };
  checkIds(raw.general, "general", "phrase.");
  const pages = {} as Record<PageName, PhraseRule[]>;
  for (const page of PAGE_NAMES) {
    pages[page] = raw.pages[page] ?? [];
    checkIds(pages[page], `pages.${page}`, `page.${page}.`);
  }

  const correctionsPath = resolve(dirname(file), raw.corrections);
  const table = parseOrThrow(correctionFile, readJson(correctionsPath, "correction table"), correctionsPath);
  return {
    version: raw.version,
    file,
    general: raw.general,
    pages,
    corrections: new Map(Object.entries(table.corrections)),
  };
}
