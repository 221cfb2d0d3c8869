/**
 * Recency buckets of a history slot: 0, 1, 2–3, 4–7, 8–15, … events back from the most recent one, i.e.
 * ⌊log2(back)⌋ + 1 for back ≥ 1. Logarithmic because the last few events say most about what comes next and
 * the older ones mostly say what the user likes in general; a weight per bucket is learned, not per slot, so
 * the rare long histories do not need their own parameters.
 */
export function recencyBucket(back: number): number {
  if (!Number.isInteger(back) || back < 0) throw new RangeError(`recencyBucket: back must be an integer >= 0, got ${back}`);
  return back === 0 ? 0 : Math.floor(Math.log2(back)) + 1;
}

/** Buckets a history of `sequenceLength` slots needs (sequence length 20: 0, 1, 2–3, 4–7, 8–15, 16–19 → 6). */
export function recencyBucketCount(sequenceLength: number): number {
  return recencyBucket(Math.max(0, sequenceLength - 1)) + 1;
}

/**
 * Bucket of each slot of a left-padded history row (the most recent event is the last column, as encodeUsers
 * lays it out): slot l is `sequenceLength - 1 - l` events back.
 */
export function slotBuckets(sequenceLength: number): Int32Array {
  return Int32Array.from({ length: sequenceLength }, (_, l) => recencyBucket(sequenceLength - 1 - l));
}

/** Per-slot weights exp(logWeight[bucket]): positive whatever was learned, 1 for all at initialisation. */
export function slotWeights(logWeights: Float32Array, sequenceLength: number): Float32Array {
  return Float32Array.from(slotBuckets(sequenceLength), (b) => Math.exp(logWeights[b]!));
}
