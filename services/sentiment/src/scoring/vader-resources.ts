import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** The lexicon and modifier constants of the installed vader-sentiment package. */
export interface VaderResources {
  /** lower-case token (word or emoticon) → mean valence in [-4, 4] */
  lexicon: ReadonlyMap<string, number>;
  /** words that negate a following sentiment word (VADER's NEGATE list) */
  negations: ReadonlySet<string>;
  /** degree adverbs → signed scalar increment (VADER's BOOSTER_DICT); keys may be two words */
  boosters: ReadonlyMap<string, number>;
  /** added to a sentiment word written in ALL CAPS among non-caps words */
  capsIncrement: number;
  /** multiplier applied to a negated valence */
  negationScalar: number;
  /** the package version the resources were read from, for provenance */
  packageVersion: string;
}

let cached: VaderResources | undefined;

/**
 * Reads VADER's lexicon and constants from the installed package. The package bundle only exports
 * SentimentIntensityAnalyzer, so the constants are parsed from the source file it ships: the scorer then
 * follows the package version instead of a copy that could drift.
 */
export function loadVaderResources(): VaderResources {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const packageJsonPath = require.resolve("vader-sentiment/package.json");
  const root = dirname(packageJsonPath);
  const packageVersion = (JSON.parse(readFileSync(packageJsonPath, "utf8")) as { version: string }).version;

  const lexiconPath = join(root, "vader_lexicon.txt");
  const lexicon = new Map<string, number>();
  readFileSync(lexiconPath, "utf8")
    .split("\n")
    .forEach((line, index) => {
      if (line.trim() === "") return;
      const [token, mean] = line.split("\t");
      const valence = Number(mean);
      if (token === undefined || token === "" || mean === undefined || !Number.isFinite(valence)) {
        throw new Error(`${lexiconPath}:${index + 1}: expected "token<TAB>mean valence<TAB>…", got ${JSON.stringify(line)}`);
      }
      lexicon.set(token.toLowerCase(), valence);
    });

  const sourcePath = join(root, "src", "vaderSentiment.js");
  const source = readFileSync(sourcePath, "utf8");
  const constant = (name: string): number => {
    const match = new RegExp(`export const ${name} = (-?[0-9.]+);`).exec(source);
    if (!match?.[1]) throw new Error(`${sourcePath}: constant ${name} not found (unsupported vader-sentiment version?)`);
    return Number(match[1]);
  };
  const block = (name: string, open: string, close: string): string => {
    const start = source.indexOf(`export const ${name} = ${open}`);
    const end = start === -1 ? -1 : source.indexOf(`${close};`, start);
    if (start === -1 || end === -1) throw new Error(`${sourcePath}: ${name} not found (unsupported vader-sentiment version?)`);
    return source.slice(start, end);
  };
  const quoted = /'([^']*)'|"([^"]*)"/g;
  const negations = new Set<string>();
  for (const match of block("NEGATE", "[", "]").matchAll(quoted)) negations.add(match[1] ?? match[2] ?? "");

  const increments: Record<string, number> = { B_INCR: constant("B_INCR"), B_DECR: constant("B_DECR") };
  const boosters = new Map<string, number>();
  for (const match of block("BOOSTER_DICT", "{", "}").matchAll(/(?:'([^']+)'|([a-z]+)):\s*(B_INCR|B_DECR)/g)) {
    boosters.set(match[1] ?? match[2] ?? "", increments[match[3] ?? ""] ?? 0);
  }
  if (negations.size === 0 || boosters.size === 0) {
    throw new Error(`${sourcePath}: NEGATE or BOOSTER_DICT parsed empty (unsupported vader-sentiment version?)`);
  }
  cached = {
    lexicon,
    negations,
    boosters,
    capsIncrement: constant("C_INCR"),
    negationScalar: constant("N_SCALAR"),
    packageVersion,
  };
  return cached;
}
