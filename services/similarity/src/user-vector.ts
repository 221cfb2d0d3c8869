// Turns a user query (known id, raw features, or a vector of a named version) into a vector of the leased
// version. Shared by similarity and recommendation so both resolve users the same way.
import { InvalidArgumentError, NotFoundError } from "@funnel/runtime";
import { encodeUsers, FeatureEncodingError, pseudonymiseUserId, type RawUserFeatures, withUserPseudonym } from "@funnel/two-tower";
import type { IndexedTwoTower } from "./indexed-two-tower.js";

export type UserQuery =
  | { userId: string }
  | { features: RawUserFeatures }
  /** `model` is the version that produced the vector; the index refuses any other. */
  | { vector: Float32Array; model: { name: string; version: string } };

export interface ResolvedUser {
  vector: Float32Array;
  /** Version the vector comes from (the leased one, except for caller vectors, which the index checks). */
  model: { name: string; version: string };
  /** The pseudonym the user is indexed under, when the query named a user. */
  indexedId?: string;
}

export async function resolveUser(indexed: IndexedTwoTower, query: UserQuery, salt: string, field: string): Promise<ResolvedUser> {
  if ("userId" in query) {
    const pseudonym = pseudonymiseUserId(query.userId, salt);
    const vector = await indexedVector(indexed, pseudonym);
    if (!vector) {
      throw new NotFoundError(
        `${field}.user_id "${query.userId}" has no vector in ${indexed.model.name} version ${indexed.model.version}; send the user's features instead (or upsert them first)`,
      );
    }
    return { vector, model: indexed.model, indexedId: pseudonym };
  }
  if ("features" in query) return { vector: await embedFeatures(indexed, query.features, `${field}.features`, salt), model: indexed.model };
  return { vector: query.vector, model: query.model };
}

/**
 * The user tower's vector for raw features a caller sent; a bad field is INVALID_ARGUMENT naming it. A user id
 * among the features is pseudonymised with `salt` first (the user-id buckets were trained on pseudonyms). The
 * row is counted into the version's drift profile unless `profiled` is false (a row the service made up itself).
 * Users asked by id are never counted: their stored vector comes from training rows, which the reference
 * profile already holds, and no features were sent.
 */
export async function embedFeatures(
  indexed: IndexedTwoTower,
  features: RawUserFeatures,
  field: string,
  salt: string,
  profiled = true,
): Promise<Float32Array> {
  let tensors: ReturnType<typeof encodeUsers>;
  try {
    tensors = encodeUsers(indexed.served.spec, [withUserPseudonym(features, (id) => pseudonymiseUserId(id, salt))]);
  } catch (error) {
    if (error instanceof FeatureEncodingError) throw new InvalidArgumentError(field, error.message.replace(/^users\[0\]\.?/, ""));
    throw error;
  }
  return profiled ? indexed.served.embedProfiledUser(tensors) : indexed.served.embedUsers(tensors);
}

/**
 * The vector a user is indexed with now: an upserted one wins over the stored one, so a user updated by
 * UpsertUserVectors is queried with the new vector. With a shared store (Milvus) the store is asked too: in a
 * fleet the upsert may have gone through another replica, or happened before this one restarted.
 */
async function indexedVector(indexed: IndexedTwoTower, pseudonym: string): Promise<Float32Array | undefined> {
  const upserted = indexed.upserted.get(pseudonym);
  if (upserted) return upserted;
  const shared = await indexed.users.vectorOf?.(pseudonym);
  if (shared) return shared;
  const row = indexed.served.users.rowOf(pseudonym);
  return row === undefined ? undefined : indexed.served.users.vector(row);
}
