import { createHash } from "node:crypto";
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
