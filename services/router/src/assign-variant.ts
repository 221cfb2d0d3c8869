// The A/B split as a pure function: a salted hash of the user id picks a point in [0, 1), and the variants'
// weights divide that interval in config order. The same user gets the same variant while salt and weights
// stay the same; a new salt reshuffles everyone (a fresh experiment on the same variants).
import { createHash } from "node:crypto";

export interface SplitVariant {
  readonly name: string;
  readonly weight: number;
}

export interface Split {
  readonly salt: string;
  readonly variants: readonly SplitVariant[];
}

/** Where `key` falls in [0, 1) for `salt`: the first 48 bits of SHA-256(salt ":" key). */
export function hashPoint(key: string, salt: string): number {
  const digest = createHash("sha256").update(salt).update(":").update(key).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The variant of `key` in `split`. Variants named in `excluded` (out of rotation) and zero-weight ones get
 * no users: a user of an excluded variant is re-split over the rest with a second hash, while everyone else
 * keeps their variant. Returns undefined only if no variant is left.
 */
export function assignVariant(key: string, split: Split, excluded: ReadonlySet<string> = EMPTY): string | undefined {
  const first = pick(hashPoint(key, split.salt), split.variants);
  if (first !== undefined && !excluded.has(first)) return first;
  return pick(
    hashPoint(key, `${split.salt}:rest`),
    split.variants.filter((v) => !excluded.has(v.name)),
  );
}

const EMPTY: ReadonlySet<string> = new Set();

function pick(point: number, variants: readonly SplitVariant[]): string | undefined {
  let total = 0;
  for (const v of variants) total += v.weight;
  if (total <= 0) return undefined;
  let edge = 0;
  for (const v of variants) {
    edge += v.weight / total;
    if (point < edge && v.weight > 0) return v.name;
  }
  // Rounding can leave the last edge a hair under 1.
  return [...variants].reverse().find((v) => v.weight > 0)?.name;
}
