import { FeatureEncodingError } from "./errors.js";
import { CLIP, type FeatureSpec, type NumericFeature, OOV_INDEX, PAD_INDEX, type Vocabulary } from "./feature-spec.js";
import { userIdBucket } from "./user-id-bucket.js";
import { attributeTokensOf, categoriesOf, ITEM_NUMERIC_FIELDS, type RawItemFeatures, type RawUserFeatures, USER_NUMERIC_FIELDS } from "./raw-features.js";

export interface UserTensors {
  count: number;
  /** count × spec.user.numericSize, row-major. */
  numeric: Float32Array;
  /** count × 1. */
  device: Int32Array;
  /** count × sequenceLength; left-padded with 0 so the most recent interaction is always the last column. */
  recentItems: Int32Array;
  /** count × sequenceLength, aligned with recentItems. */
  recentPages: Int32Array;
  /** count × spec.user.attributeSlots: attribute tokens left-aligned, padded with 0; none = OOV in the first slot. */
  attributes: Int32Array;
  /** count × 1: userIdBucket of the pseudonym (0 = no id, and always 0 when the spec has no id buckets). */
  userId: Int32Array;
}

export interface ItemTensors {
  count: number;
  /** count × spec.item.numericSize, row-major. */
  numeric: Float32Array;
  itemIndex: Int32Array;
  page: Int32Array;
  interaction: Int32Array;
  /**
   * count × spec.item.categorySlots: the item's category indices left-aligned, padded with 0; an item without
   * categories has OOV in the first slot (missing is OOV, as for every categorical field).
   */
  category: Int32Array;
}

type Lookup = Map<string, number>;
const lookups = new WeakMap<Vocabulary, Lookup>();

function lookupOf(vocab: Vocabulary): Lookup {
  let lookup = lookups.get(vocab);
  if (!lookup) {
    lookup = new Map(vocab.tokens.map((token, i) => [token, i + 2]));
    lookups.set(vocab, lookup);
  }
  return lookup;
}

/** Index of a token, OOV when absent or unknown; NOT_A_STRING for a value of the wrong type. */
const NOT_A_STRING = -1;
function indexOf(lookup: Lookup, value: unknown): number {
  if (value === undefined || value === null || value === "") return OOV_INDEX;
  if (typeof value !== "string") return NOT_A_STRING;
  return lookup.get(value) ?? OOV_INDEX;
}

// Locations are passed in parts and joined only when an error is thrown: building `users[3].x` strings for
// every field of every row was a visible share of the Embedding service's per-call CPU.
function indexIn(vocab: Vocabulary, value: unknown, where: string, field: string): number {
  const index = indexOf(lookupOf(vocab), value);
  if (index === NOT_A_STRING) throw notAString(`${where}.${field}`, value);
  return index;
}

function notAString(where: string, value: unknown): FeatureEncodingError {
  return new FeatureEncodingError(`${where} must be a string, got ${JSON.stringify(value)}`);
}

function scale(feature: NumericFeature, value: unknown, where: string, field: string): number {
  let raw: number;
  // NaN counts as missing: it is how absent numbers arrive from many CSV and dataframe tools.
  if (value === undefined || value === null || (typeof value === "number" && Number.isNaN(value))) raw = feature.impute;
  else if (typeof value === "number" && Number.isFinite(value) && value >= 0) raw = value;
  else throw new FeatureEncodingError(`${where}.${field} must be a finite number >= 0 or absent, got ${JSON.stringify(value)}`);
  const transformed = feature.transform === "log1p" ? Math.log1p(raw) : raw;
  const z = (transformed - feature.mean) / feature.std;
  return Math.max(-CLIP, Math.min(CLIP, z));
}

/** Applies the spec to raw user records: imputation, log1p + standardisation, vocabularies, sequence padding. */
export function encodeUsers(spec: FeatureSpec, users: RawUserFeatures[]): UserTensors {
  const n = users.length;
  const width = spec.user.numericSize;
  const L = spec.sequenceLength;
  const out: UserTensors = {
    count: n,
    numeric: new Float32Array(n * width),
    device: new Int32Array(n),
    recentItems: new Int32Array(n * L).fill(PAD_INDEX),
    recentPages: new Int32Array(n * L).fill(PAD_INDEX),
    attributes: new Int32Array(n * spec.user.attributeSlots),
    userId: new Int32Array(n),
  };
  const idBuckets = spec.user.idBuckets;
  const attributeSlots = spec.user.attributeSlots;
  const itemLookup = lookupOf(spec.vocab.item);
  const pageLookup = lookupOf(spec.vocab.page);
  for (let row = 0; row < n; row++) {
    const user = users[row]!;
    const where = `users[${row}]`;
    if (user === null || typeof user !== "object") throw new FeatureEncodingError(`${where} must be an object`);
    for (let col = 0; col < spec.user.numeric.length; col++) {
      const field = USER_NUMERIC_FIELDS[col]!;
      out.numeric[row * width + col] = scale(spec.user.numeric[col]!, user[field], where, field);
    }
    out.device[row] = indexIn(spec.vocab.device, user.device, where, "device");
    if (user.attributes !== undefined && (user.attributes === null || typeof user.attributes !== "object" || Array.isArray(user.attributes))) {
      throw new FeatureEncodingError(`${where}.attributes must be an object of name → value`);
    }
    const tokens = attributeTokensOf(user.attributes).slice(0, attributeSlots);
    if (tokens.length === 0) out.attributes[row * attributeSlots] = OOV_INDEX;
    for (let i = 0; i < tokens.length; i++) {
      out.attributes[row * attributeSlots + i] = indexIn(spec.vocab.userAttribute, tokens[i], where, "attributes");
    }
    if (user.userId !== undefined && typeof user.userId !== "string") throw notAString(`${where}.userId`, user.userId);
    out.userId[row] = userIdBucket(user.userId, idBuckets);
    const recent = user.recentInteractions ?? [];
    if (!Array.isArray(recent)) throw new FeatureEncodingError(`${where}.recentInteractions must be an array`);
    // The most recent L interactions, right-aligned so the last one is always the last column.
    const first = Math.max(0, recent.length - L);
    const offset = row * L + (L - (recent.length - first));
    for (let k = first; k < recent.length; k++) {
      const interaction = recent[k];
      // A present interaction with an unknown or missing item is OOV, never padding: it did happen.
      const item = indexOf(itemLookup, interaction?.itemId);
      if (item === NOT_A_STRING) throw notAString(`${where}.recentInteractions[${k}].itemId`, interaction?.itemId);
      const page = indexOf(pageLookup, interaction?.page);
      if (page === NOT_A_STRING) throw notAString(`${where}.recentInteractions[${k}].page`, interaction?.page);
      out.recentItems[offset + k - first] = item;
      out.recentPages[offset + k - first] = page;
    }
  }
  return out;
}

/** Applies the spec to raw item records. */
export function encodeItems(spec: FeatureSpec, items: RawItemFeatures[]): ItemTensors {
  const n = items.length;
  const width = spec.item.numericSize;
  const out: ItemTensors = {
    count: n,
    numeric: new Float32Array(n * width),
    itemIndex: new Int32Array(n),
    page: new Int32Array(n),
    interaction: new Int32Array(n),
    category: new Int32Array(n * spec.item.categorySlots),
  };
  const slots = spec.item.categorySlots;
  for (let row = 0; row < n; row++) {
    const item = items[row]!;
    const where = `items[${row}]`;
    if (item === null || typeof item !== "object") throw new FeatureEncodingError(`${where} must be an object`);
    for (let col = 0; col < spec.item.numeric.length; col++) {
      const field = ITEM_NUMERIC_FIELDS[col]!;
      out.numeric[row * width + col] = scale(spec.item.numeric[col]!, item[field], where, field);
    }
    out.itemIndex[row] = indexIn(spec.vocab.item, item.itemId, where, "itemId");
    out.page[row] = indexIn(spec.vocab.page, item.page, where, "page");
    out.interaction[row] = indexIn(spec.vocab.interaction, item.interaction, where, "interaction");
    const category = item.category;
    if (category !== undefined && typeof category !== "string" && !Array.isArray(category)) {
      throw new FeatureEncodingError(`${where}.category must be a string or an array of strings, got ${JSON.stringify(category)}`);
    }
    const kept = categoriesOf(category).slice(0, slots);
    if (kept.length === 0) out.category[row * slots] = OOV_INDEX;
    for (let i = 0; i < kept.length; i++) {
      out.category[row * slots + i] = indexIn(spec.vocab.category, kept[i], where, `category[${i}]`);
    }
  }
  return out;
}
