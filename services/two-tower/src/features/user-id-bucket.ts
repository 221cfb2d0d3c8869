/** Index of "no user id" in the user-id table: a zero vector (masked like padding), never trained. */
export const NO_USER_ID = 0;

/**
 * The user-id table row of an id: 1 + FNV-1a(id) mod buckets, or NO_USER_ID for a missing or empty id. The
 * hashing trick keeps the table a fixed size however many users arrive, so serving needs no id vocabulary and an
 * id seen after training still gets a row; ids sharing a bucket share an embedding.
 *
 * The id hashed is the salted pseudonym (pseudonymiseUserId), in training and serving alike: it is what model
 * artifacts already key users by, and with a secret salt nobody holding the model can tell which bucket (and so
 * which learned vector) belongs to a raw id. FNV-1a is enough here: the pseudonym is already a uniform hash, this
 * only folds it to a bucket (and keeps any other string usable). No library: it is five lines on the hot path.
 */
export function userIdBucket(id: string | undefined, buckets: number): number {
  if (id === undefined || id === "" || buckets <= 0) return NO_USER_ID;
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return 1 + ((hash >>> 0) % buckets);
}
