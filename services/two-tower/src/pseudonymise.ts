import { createHash, createHmac } from "node:crypto";
import type { RawUserFeatures } from "./features/index.js";

/** Used when no salt is configured: fine for generated data, never for real users (training and serving warn). */
export const DEVELOPMENT_PSEUDONYM_SALT = "funnel-dev-salt";

/** 24 hex characters (96 bits): collisions are negligible at any realistic user count. */
const PSEUDONYM_LENGTH = 24;

/**
 * Salted SHA-256 pseudonym of a user id, so training artifacts (embeddings, reports) never carry raw ids.
 * The salt must stay secret and stable across runs for pseudonyms to line up between training and serving.
 */
export function pseudonymiseUserId(userId: string, salt: string): string {
  if (typeof salt !== "string" || salt.length === 0) throw new TypeError("pseudonymiseUserId: salt must be a non-empty string");
  if (typeof userId !== "string" || userId.length === 0) throw new TypeError("pseudonymiseUserId: userId must be a non-empty string");
  // The separator keeps ("ab", "c") and ("a", "bc") apart.
  return createHash("sha256").update(salt).update("\u0000").update(userId).digest("hex").slice(0, PSEUDONYM_LENGTH);
}

/** pseudonymiseUserId under one salt, each distinct id hashed once (training aggregates the same users many times). */
export function pseudonymsWith(salt: string): (userId: string) => string {
  const known = new Map<string, string>();
  return (userId) => {
    let pseudonym = known.get(userId);
    if (pseudonym === undefined) {
      pseudonym = pseudonymiseUserId(userId, salt);
      known.set(userId, pseudonym);
    }
    return pseudonym;
  };
}

/** Copies of the events with every userId replaced by its pseudonym (hashing each distinct id once). */
export function pseudonymiseEvents<T extends { userId: string }>(events: readonly T[], salt: string): T[] {
  const pseudonymOf = pseudonymsWith(salt);
  return events.map((event) => ({ ...event, userId: pseudonymOf(event.userId) }));
}

/**
 * A raw user record as the user tower must see it: a caller's user id (proto UserFeatures.user_id) replaced by
 * its pseudonym, since training hashed pseudonyms into the user-id buckets. A record without an id is returned
 * as it is. `pseudonymOf` lets a service pass its cached pseudonymiseUserId.
 */
export function withUserPseudonym(features: RawUserFeatures, pseudonymOf: (userId: string) => string): RawUserFeatures {
  if (typeof features.userId !== "string" || features.userId === "") return features;
  return { ...features, userId: pseudonymOf(features.userId) };
}

const SALT_FINGERPRINT_LABEL = "funnel pseudonym salt fingerprint v1";

/**
 * What a model version records about the salt its stored user ids were pseudonymised with: an HMAC-SHA256 of
 * a fixed label keyed by the salt. It tells whether two salts are the same without revealing either (the
 * salt cannot be recovered from it, and a guess can be checked only by someone who already holds a salt).
 */
export function pseudonymSaltFingerprint(salt: string): string {
  if (typeof salt !== "string" || salt.length === 0) throw new TypeError("pseudonymSaltFingerprint: salt must be a non-empty string");
  return `hmac-sha256:${createHmac("sha256", salt).update(SALT_FINGERPRINT_LABEL).digest("hex")}`;
}

/**
 * A version was trained with another pseudonym salt than the one serving is configured with: every lookup by
 * user id would miss (NOT_FOUND, popularity fallbacks) while health stays green, so the version is refused.
 */
export class PseudonymSaltMismatchError extends Error {
  override name = "PseudonymSaltMismatchError";
}

/** The serving side's salt, and what to do with a version that records no fingerprint (trained before it). */
export interface SaltCheck {
  salt: string;
  onUnfingerprinted?: (version: number) => void;
}

/**
 * Compares the fingerprint a version records (`lineage.pseudonymSaltFingerprint` in its manifest) with the
 * configured salt's. Throws PseudonymSaltMismatchError when they differ; calls onUnfingerprinted when the
 * version records none. Only fingerprint prefixes appear in the message, never a salt.
 */
export function checkPseudonymSalt(recorded: unknown, version: number, check: SaltCheck): void {
  if (typeof recorded !== "string" || recorded === "") {
    check.onUnfingerprinted?.(version);
    return;
  }
  const expected = pseudonymSaltFingerprint(check.salt);
  if (recorded !== expected) {
    throw new PseudonymSaltMismatchError(
      `model version ${version} was trained with another pseudonym salt (its fingerprint ${recorded.slice(0, 24)}…, this process's salt gives ${expected.slice(0, 24)}…): its stored user ids would never match a lookup. Set FUNNEL_PSEUDONYM_SALT (or …_FILE) to the salt training used, or retrain with this one`,
    );
  }
}
