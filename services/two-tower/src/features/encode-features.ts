import { FeatureEncodingError } from "./errors.js";
import { CLIP, type FeatureSpec, type NumericFeature, OOV_INDEX, PAD_INDEX, type Vocabulary } from "./feature-spec.js";
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

function indexIn(vocab: Vocabulary, value: unknown, where: string): number {
  if (value === undefined || value === null || value === "") return OOV_INDEX;
  if (typeof value !== "string") throw new FeatureEncodingError(`${where} must be a string, got ${JSON.stringify(value)}`);
  let lookup = lookups.get(vocab);
  if (!lookup) {
    lookup = new Map(vocab.tokens.map((token, i) => [token, i + 2]));
    lookups.set(vocab, lookup);
  }
  return lookup.get(value) ?? OOV_INDEX;
}

function scale(feature: NumericFeature, value: unknown, where: string): number {
  let raw: number;
  // NaN counts as missing: it is how absent numbers arrive from many CSV and dataframe tools.
  if (value === undefined || value === null || (typeof value === "number" && Number.isNaN(value))) raw = feature.impute;
  else if (typeof value === "number" && Number.isFinite(value) && value >= 0) raw = value;
  else throw new FeatureEncodingError(`${where} must be a finite number >= 0 or absent, got ${JSON.stringify(value)}`);
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
  };
  const attributeSlots = spec.user.attributeSlots;
  users.forEach((user, row) => {
    const where = `users[${row}]`;
    if (user === null || typeof user !== "object") throw new FeatureEncodingError(`${where} must be an object`);
    spec.user.numeric.forEach((feature, col) => {
      const field = USER_NUMERIC_FIELDS[col]!;
      out.numeric[row * width + col] = scale(feature, user[field], `${where}.${field}`);
    });
    out.device[row] = indexIn(spec.vocab.device, user.device, `${where}.device`);
    if (user.attributes !== undefined && (user.attributes === null || typeof user.attributes !== "object" || Array.isArray(user.attributes))) {
      throw new FeatureEncodingError(`${where}.attributes must be an object of name → value`);
    }
    const tokens = attributeTokensOf(user.attributes).slice(0, attributeSlots);
    if (tokens.length === 0) out.attributes[row * attributeSlots] = OOV_INDEX;
    tokens.forEach((token, i) => {
      out.attributes[row * attributeSlots + i] = indexIn(spec.vocab.userAttribute, token, `${where}.attributes`);
    });
    const recent = user.recentInteractions ?? [];
    if (!Array.isArray(recent)) throw new FeatureEncodingError(`${where}.recentInteractions must be an array`);
    const kept = recent.slice(-L);
    const offset = row * L + (L - kept.length);
    kept.forEach((interaction, i) => {
      const at = `${where}.recentInteractions[${recent.length - kept.length + i}]`;
      // A present interaction with an unknown or missing item is OOV, never padding: it did happen.
      out.recentItems[offset + i] = indexIn(spec.vocab.item, interaction?.itemId, `${at}.itemId`);
      out.recentPages[offset + i] = indexIn(spec.vocab.page, interaction?.page, `${at}.page`);
    });
  });
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
  items.forEach((item, row) => {
    const where = `items[${row}]`;
    if (item === null || typeof item !== "object") throw new FeatureEncodingError(`${where} must be an object`);
    spec.item.numeric.forEach((feature, col) => {
      const field = ITEM_NUMERIC_FIELDS[col]!;
      out.numeric[row * width + col] = scale(feature, item[field], `${where}.${field}`);
    });
    out.itemIndex[row] = indexIn(spec.vocab.item, item.itemId, `${where}.itemId`);
    out.page[row] = indexIn(spec.vocab.page, item.page, `${where}.page`);
    out.interaction[row] = indexIn(spec.vocab.interaction, item.interaction, `${where}.interaction`);
    const category = item.category;
    if (category !== undefined && typeof category !== "string" && !Array.isArray(category)) {
      throw new FeatureEncodingError(`${where}.category must be a string or an array of strings, got ${JSON.stringify(category)}`);
    }
    const kept = categoriesOf(category).slice(0, slots);
    if (kept.length === 0) out.category[row * slots] = OOV_INDEX;
    kept.forEach((c, i) => {
      out.category[row * slots + i] = indexIn(spec.vocab.category, c, `${where}.category[${i}]`);
    });
  });
  return out;
}
