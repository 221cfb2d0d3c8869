import { z } from "zod";
import { DEVICES, INTERACTIONS, PAGES } from "../event.js";
import { DEFAULT_SEQUENCE_LENGTH } from "./aggregate-user-features.js";
import { FeatureSpecError } from "./errors.js";
import { attributeTokensOf, categoriesOf, ITEM_NUMERIC_FIELDS, type RawItemFeatures, type RawUserFeatures, USER_NUMERIC_FIELDS } from "./raw-features.js";

/**
 * Bumped on any change to how a spec encodes; serving refuses specs of another version. v2: an item's
 * categories are a bag ([-1, categorySlots], masked mean in the item tower) instead of one index; user attribute
 * tables reach the user tower as a bag of "name=value" tokens ([-1, attributeSlots]).
 */
export const FEATURE_SPEC_VERSION = "funnel-features/v2";
/** Most categories per item the encoding keeps (the spec fits categorySlots ≤ this on training items). */
export const MAX_CATEGORY_SLOTS = 8;
/** Most attributes per user the encoding keeps. */
export const MAX_ATTRIBUTE_SLOTS = 8;
/** Vocabulary index of padding (empty sequence slots). */
export const PAD_INDEX = 0;
/** Vocabulary index of anything not in the vocabulary, and of missing categorical values. */
export const OOV_INDEX = 1;
/** Standardised values are clipped so one absurd raw value cannot dominate a dot product. */
export const CLIP = 5;
/** Most user-id hash buckets a spec may ask for (the table has one row per bucket in both towers' exports). */
export const MAX_USER_ID_BUCKETS = 1 << 22;

const vocabularySchema = z
  .object({
    tokens: z.array(z.string()),
    /** tokens.length + 2: index 0 is padding, 1 out-of-vocabulary, token i has index i + 2. */
    size: z.number().int(),
  })
  .refine((v) => v.size === v.tokens.length + 2, { message: "size must equal tokens.length + 2 (padding and OOV)" })
  .refine((v) => new Set(v.tokens).size === v.tokens.length, { message: "tokens must be unique" });

const numericFeatureSchema = z.object({
  name: z.string(),
  /** log1p tames the long tails of counts and durations before standardisation. */
  transform: z.enum(["log1p", "identity"]),
  /** Raw value used when the field is missing (train median). */
  impute: z.number().nonnegative(),
  mean: z.number(),
  std: z.number().positive(),
});

const tensorInputSchema = z.object({
  name: z.string(),
  dtype: z.enum(["float32", "int32"]),
  shape: z.tuple([z.literal(-1), z.number().int().positive()]),
});

const featureSpecSchema = z.object({
  version: z.literal(FEATURE_SPEC_VERSION),
  sequenceLength: z.number().int().positive(),
  vocab: z.object({
    device: vocabularySchema,
    page: vocabularySchema,
    interaction: vocabularySchema,
    item: vocabularySchema,
    category: vocabularySchema,
    /** "name=value" tokens of user attribute tables (empty without one). */
    userAttribute: vocabularySchema,
  }),
  user: z.object({
    numeric: z.array(numericFeatureSchema),
    numericSize: z.number().int().nonnegative(),
    /** Width of the user attribute bag: the most attributes of a training user (at least 1, at most MAX_ATTRIBUTE_SLOTS). */
    attributeSlots: z.number().int().min(1).max(8),
    /**
     * Hashed user-id embedding: the user's pseudonym hashed into this many buckets (userIdBucket), one table row
     * each, plus row 0 for "no id" (a zero vector). 0 turns the input off; specs written before it parse as 0.
     */
    idBuckets: z.number().int().min(0).max(MAX_USER_ID_BUCKETS).default(0),
  }),
  item: z.object({
    numeric: z.array(numericFeatureSchema),
    numericSize: z.number().int().nonnegative(),
    /** Width of the category bag: the most categories of a training item (at least 1, at most MAX_CATEGORY_SLOTS). */
    categorySlots: z.number().int().min(1).max(MAX_CATEGORY_SLOTS),
  }),
  inputs: z.object({ user: z.array(tensorInputSchema), item: z.array(tensorInputSchema) }),
  /** Rows the spec was fitted on, for the record. */
  fittedOn: z.object({ users: z.number().int().nonnegative(), items: z.number().int().nonnegative() }),
});

export type Vocabulary = z.infer<typeof vocabularySchema>;
export type NumericFeature = z.infer<typeof numericFeatureSchema>;
export type TensorInput = z.infer<typeof tensorInputSchema>;
/**
 * Everything serving needs to turn raw features into the towers' input tensors exactly as training did.
 * Stored as JSON next to the model; `inputs` lists the ONNX input names (the UserTensors / ItemTensors field
 * names) in order with their shapes.
 */
export type FeatureSpec = z.infer<typeof featureSpecSchema>;

/** Fits vocabularies, imputation values and scalers on training rows. */
export function buildFeatureSpec(
  train: { users: RawUserFeatures[]; items: RawItemFeatures[] },
  options: { sequenceLength?: number; userIdBuckets?: number } = {},
): FeatureSpec {
  const sequenceLength = options.sequenceLength ?? DEFAULT_SEQUENCE_LENGTH;
  if (!Number.isInteger(sequenceLength) || sequenceLength < 1) {
    throw new RangeError(`buildFeatureSpec: sequenceLength must be an integer >= 1, got ${sequenceLength}`);
  }
  const idBuckets = options.userIdBuckets ?? 0;
  if (!Number.isInteger(idBuckets) || idBuckets < 0 || idBuckets > MAX_USER_ID_BUCKETS) {
    throw new RangeError(`buildFeatureSpec: userIdBuckets must be an integer in [0, ${MAX_USER_ID_BUCKETS}], got ${idBuckets}`);
  }
  const itemIds = new Set<string>();
  const categories = new Set<string>();
  let categorySlots = 1;
  for (const item of train.items) {
    if (item.itemId) itemIds.add(item.itemId);
    const own = categoriesOf(item.category);
    for (const c of own) categories.add(c);
    categorySlots = Math.max(categorySlots, Math.min(MAX_CATEGORY_SLOTS, own.length));
  }
  const attributeTokens = new Set<string>();
  let attributeSlots = 1;
  for (const user of train.users) {
    const tokens = attributeTokensOf(user.attributes);
    for (const t of tokens) attributeTokens.add(t);
    attributeSlots = Math.max(attributeSlots, Math.min(MAX_ATTRIBUTE_SLOTS, tokens.length));
  }
  // Items only ever met in user histories still get an id, so sequences are not all OOV for them.
  for (const user of train.users) for (const i of user.recentInteractions ?? []) if (i.itemId) itemIds.add(i.itemId);

  const userNumeric = USER_NUMERIC_FIELDS.map((name) => fitScaler(name, train.users.map((u) => u[name])));
  const itemNumeric = ITEM_NUMERIC_FIELDS.map((name) => fitScaler(name, train.items.map((i) => i[name])));
  return {
    version: FEATURE_SPEC_VERSION,
    sequenceLength,
    vocab: {
      device: vocabulary(DEVICES),
      page: vocabulary(PAGES),
      interaction: vocabulary(INTERACTIONS),
      item: vocabulary([...itemIds].sort()),
      category: vocabulary([...categories].sort()),
      userAttribute: vocabulary([...attributeTokens].sort()),
    },
    user: { numeric: userNumeric, numericSize: userNumeric.length, attributeSlots, idBuckets },
    item: { numeric: itemNumeric, numericSize: itemNumeric.length, categorySlots },
    inputs: buildInputs({
      sequenceLength,
      user: { numericSize: userNumeric.length, attributeSlots, idBuckets },
      item: { numericSize: itemNumeric.length, categorySlots },
    }),
    fittedOn: { users: train.users.length, items: train.items.length },
  };
}

/** Validates a spec read from JSON; the error names the field path and what is wrong with it. */
export function parseFeatureSpec(json: unknown): FeatureSpec {
  const version = (json as { version?: unknown } | null)?.version;
  if (typeof version === "string" && version !== FEATURE_SPEC_VERSION && version.startsWith("funnel-features/")) {
    throw new FeatureSpecError(
      `feature spec ${version} is not supported: this build encodes ${FEATURE_SPEC_VERSION} (item categories as a bag of up to ` +
        `${MAX_CATEGORY_SLOTS}); retrain the model with this version of @funnel/training`,
    );
  }
  const result = featureSpecSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${["featureSpec", ...issue.path].join(".")}: ${issue.message}`);
    throw new FeatureSpecError(`invalid feature spec: ${problems.join("; ")}`);
  }
  const spec = result.data;
  const check = (ok: boolean, message: string): void => {
    if (!ok) throw new FeatureSpecError(`invalid feature spec: ${message}`);
  };
  check(spec.user.numericSize === spec.user.numeric.length, "featureSpec.user.numericSize must equal user.numeric.length");
  check(spec.item.numericSize === spec.item.numeric.length, "featureSpec.item.numericSize must equal item.numeric.length");
  const userNames = spec.user.numeric.map((n) => n.name).join(",");
  check(userNames === USER_NUMERIC_FIELDS.join(","), `featureSpec.user.numeric names must be ${USER_NUMERIC_FIELDS.join(",")}, got ${userNames}`);
  const itemNames = spec.item.numeric.map((n) => n.name).join(",");
  check(itemNames === ITEM_NUMERIC_FIELDS.join(","), `featureSpec.item.numeric names must be ${ITEM_NUMERIC_FIELDS.join(",")}, got ${itemNames}`);
  for (const [name, tokens] of [["device", DEVICES], ["page", PAGES], ["interaction", INTERACTIONS]] as const) {
    check(spec.vocab[name].tokens.join(",") === tokens.join(","), `featureSpec.vocab.${name}.tokens must be ${tokens.join(",")}`);
  }
  const expected = buildInputs(spec);
  for (const side of ["user", "item"] as const) {
    check(
      JSON.stringify(spec.inputs[side]) === JSON.stringify(expected[side]),
      `featureSpec.inputs.${side} must be ${JSON.stringify(expected[side])}`,
    );
  }
  return spec;
}

function buildInputs(spec: {
  sequenceLength: number;
  user: { numericSize: number; attributeSlots: number; idBuckets: number };
  item: { numericSize: number; categorySlots: number };
}): FeatureSpec["inputs"] {
  return {
    user: [
      { name: "numeric", dtype: "float32", shape: [-1, spec.user.numericSize] },
      { name: "device", dtype: "int32", shape: [-1, 1] },
      { name: "recentItems", dtype: "int32", shape: [-1, spec.sequenceLength] },
      { name: "recentPages", dtype: "int32", shape: [-1, spec.sequenceLength] },
      { name: "attributes", dtype: "int32", shape: [-1, spec.user.attributeSlots] },
      // Only a spec with id buckets has the input, so towers exported without it keep their signature.
      ...(spec.user.idBuckets > 0 ? [{ name: "userId", dtype: "int32" as const, shape: [-1, 1] as [-1, number] }] : []),
    ],
    item: [
      { name: "numeric", dtype: "float32", shape: [-1, spec.item.numericSize] },
      { name: "itemIndex", dtype: "int32", shape: [-1, 1] },
      { name: "page", dtype: "int32", shape: [-1, 1] },
      { name: "interaction", dtype: "int32", shape: [-1, 1] },
      { name: "category", dtype: "int32", shape: [-1, spec.item.categorySlots] },
    ],
  };
}

function vocabulary(tokens: readonly string[]): Vocabulary {
  return { tokens: [...tokens], size: tokens.length + 2 };
}

/** Train median for imputation; mean/std of the transformed, imputed values for standardisation. */
function fitScaler(name: string, values: (number | undefined)[]): NumericFeature {
  const present = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0).sort((a, b) => a - b);
  const impute = present.length === 0 ? 0 : median(present);
  const transformed = values.map((v) => Math.log1p(typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : impute));
  const mean = transformed.length === 0 ? 0 : transformed.reduce((a, b) => a + b, 0) / transformed.length;
  const variance = transformed.length === 0 ? 0 : transformed.reduce((a, b) => a + (b - mean) ** 2, 0) / transformed.length;
  // A constant column would divide by zero; std 1 leaves it centred at 0 instead.
  const std = Math.sqrt(variance) > 1e-9 ? Math.sqrt(variance) : 1;
  return { name, transform: "log1p", impute, mean, std };
}

function median(sorted: number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
