// The reference profile of a model version (feature-profile.json): histograms of the encoded training features
// and of the training users' scores, on bins fixed at training. Serving counts what it encodes on the same
// bins (DriftLayout), so reference and live histograms compare bin for bin.
import { z } from "zod";
import type { ItemTensors, UserTensors } from "../features/encode-features.js";
import { type FeatureSpec, type NumericFeature, OOV_INDEX, PAD_INDEX } from "../features/feature-spec.js";
import { ITEM_NUMERIC_FIELDS, USER_NUMERIC_FIELDS } from "../features/raw-features.js";

export const FEATURE_PROFILE_FORMAT = "funnel-feature-profile/v1";

/** Deciles: bins of about a tenth of the training rows each, fewer where values repeat (counts, zeros). */
const QUANTILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
/** A vocabulary larger than this keeps its most frequent training tokens as bins; the rest share "(other)". */
export const MAX_TOKEN_BINS = 20;
export const UNKNOWN_BIN = "(unknown)";
export const NONE_BIN = "(none)";

type Kind = "numeric" | "categorical" | "bag";
type VocabularyName = keyof FeatureSpec["vocab"];

/** How one profiled feature reads its encoded values from a row of tensors (pads never reach `out`). */
interface FeatureDefinition<T> {
  name: string;
  kind: Kind;
  vocabulary?: VocabularyName;
  /** Which tokens get their own bin: all of them, the most frequent, or none (only known vs unknown). */
  keep?: "all" | "top" | "none";
  values(t: T, row: number, spec: FeatureSpec, out: number[]): void;
  /** Numeric: the raw value (for bin labels) of an encoded value. */
  raw(encoded: number, spec: FeatureSpec): number;
}

const identity = (value: number): number => value;

function rawOf(feature: NumericFeature, z: number): number {
  const transformed = z * feature.std + feature.mean;
  return feature.transform === "log1p" ? Math.expm1(transformed) : transformed;
}

function tokensOf(tensor: (t: never) => Int32Array, width: (spec: FeatureSpec) => number) {
  return <T>(t: T, row: number, spec: FeatureSpec, out: number[]): void => {
    const w = width(spec);
    const values = tensor(t as never);
    for (let k = row * w; k < (row + 1) * w; k++) if (values[k] !== PAD_INDEX) out.push(values[k]!);
  };
}

const USER_FEATURES: FeatureDefinition<UserTensors>[] = [
  ...USER_NUMERIC_FIELDS.map(
    (field, col): FeatureDefinition<UserTensors> => ({
      name: `user.${field}`,
      kind: "numeric",
      values: (t, row, spec, out) => out.push(t.numeric[row * spec.user.numericSize + col]!),
      raw: (z, spec) => rawOf(spec.user.numeric[col]!, z),
    }),
  ),
  { name: "user.device", kind: "categorical", vocabulary: "device", values: (t, row, _spec, out) => out.push(t.device[row]!), raw: identity },
  {
    name: "user.historyLength",
    kind: "numeric",
    values: (t, row, spec, out) => {
      let n = 0;
      for (let k = row * spec.sequenceLength; k < (row + 1) * spec.sequenceLength; k++) if (t.recentPages[k] !== PAD_INDEX) n++;
      out.push(n);
    },
    raw: identity,
  },
  { name: "user.recentPages", kind: "bag", vocabulary: "page", values: tokensOf((t: UserTensors) => t.recentPages, (s) => s.sequenceLength), raw: identity },
  { name: "user.recentItems", kind: "bag", vocabulary: "item", keep: "top", values: tokensOf((t: UserTensors) => t.recentItems, (s) => s.sequenceLength), raw: identity },
  { name: "user.attributes", kind: "bag", vocabulary: "userAttribute", keep: "top", values: tokensOf((t: UserTensors) => t.attributes, (s) => s.user.attributeSlots), raw: identity },
];

const ITEM_FEATURES: FeatureDefinition<ItemTensors>[] = [
  ...ITEM_NUMERIC_FIELDS.map(
    (field, col): FeatureDefinition<ItemTensors> => ({
      name: `item.${field}`,
      kind: "numeric",
      values: (t, row, spec, out) => out.push(t.numeric[row * spec.item.numericSize + col]!),
      raw: (z, spec) => rawOf(spec.item.numeric[col]!, z),
    }),
  ),
  // The reference holds each catalogue item once: per-item bins would say nothing, unknown ids do.
  { name: "item.itemId", kind: "categorical", vocabulary: "item", keep: "none", values: (t, row, _spec, out) => out.push(t.itemIndex[row]!), raw: identity },
  { name: "item.page", kind: "categorical", vocabulary: "page", values: (t, row, _spec, out) => out.push(t.page[row]!), raw: identity },
  { name: "item.interaction", kind: "categorical", vocabulary: "interaction", values: (t, row, _spec, out) => out.push(t.interaction[row]!), raw: identity },
  { name: "item.category", kind: "bag", vocabulary: "category", keep: "top", values: tokensOf((t: ItemTensors) => t.category, (s) => s.item.categorySlots), raw: identity },
];

/** Name of the prediction histogram: a user's mean score over the catalogue (user vector · mean item vector). */
export const PREDICTION_NAME = "prediction.meanItemScore";

const histogramSchema = z.object({
  name: z.string(),
  kind: z.enum(["numeric", "categorical", "bag", "score"]),
  /** numeric and score: ascending upper bin edges on the encoded scale; a value ≤ edges[i] (and > edges[i-1]) is in bin i. */
  edges: z.array(z.number()).optional(),
  /** categorical and bag: the tokens with a bin of their own, in bin order. */
  kept: z.array(z.string()).optional(),
  bins: z.array(z.string()),
  counts: z.array(z.number().nonnegative()),
});

const profileSchema = z.object({
  format: z.literal(FEATURE_PROFILE_FORMAT),
  featureSpecVersion: z.string(),
  rows: z.object({ users: z.number().int().nonnegative(), items: z.number().int().nonnegative() }),
  features: z.array(histogramSchema),
  prediction: histogramSchema.nullable(),
});

export type ProfileHistogram = z.infer<typeof histogramSchema>;
/** The contents of feature-profile.json. */
export type FeatureProfile = z.infer<typeof profileSchema>;

/** Validates a parsed feature-profile.json against the feature spec it was fitted with; throws naming the problem. */
export function parseFeatureProfile(json: unknown, spec: FeatureSpec): FeatureProfile {
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== FEATURE_PROFILE_FORMAT) throw new Error(`feature profile format ${JSON.stringify(format)} is not supported (this build reads ${FEATURE_PROFILE_FORMAT})`);
  const result = profileSchema.safeParse(json);
  if (!result.success) {
    throw new Error(`invalid feature profile: ${result.error.issues.map((i) => `${["featureProfile", ...i.path].join(".")}: ${i.message}`).join("; ")}`);
  }
  const profile = result.data;
  if (profile.featureSpecVersion !== spec.version) throw new Error(`feature profile was fitted on ${profile.featureSpecVersion}, the spec is ${spec.version}`);
  // Building the layout checks every histogram against its definition and vocabulary.
  new DriftLayout(spec, profile);
  return profile;
}

interface Binned {
  histogram: ProfileHistogram;
  /** First bin of this feature in the flat layout. */
  offset: number;
  /** Numeric: ascending upper edges (bin = how many edges the value exceeds). */
  edges?: Float64Array;
  /** Vocabulary: index → bin within the feature, -1 for padding (not counted). */
  lookup?: Int32Array;
  /** Vocabulary: bin of an index outside the lookup. */
  unknownBin?: number;
  /** Bag: bin counted for a row without tokens. */
  noneBin?: number;
}

/** Bin of `value` within the feature (the hot path: inlined arithmetic, no closure per value). */
function binOf(f: Binned, value: number): number {
  const { edges, lookup } = f;
  if (edges) {
    let i = 0;
    while (i < edges.length && value > edges[i]!) i++;
    return i;
  }
  return value >= 0 && value < lookup!.length ? lookup![value]! : f.unknownBin!;
}

interface LaidOut<T> extends Binned {
  definition: FeatureDefinition<T>;
}

/**
 * Every profiled feature's bins laid end to end (then the prediction's), so one row of traffic is a short
 * list of flat bin indices and counting it is a few increments.
 */
export class DriftLayout {
  readonly users: LaidOut<UserTensors>[];
  readonly items: LaidOut<ItemTensors>[];
  readonly prediction: Binned | undefined;
  readonly bins: number;
  private readonly scratch: number[] = [];

  constructor(
    readonly spec: FeatureSpec,
    readonly profile: FeatureProfile,
  ) {
    const byName = new Map(profile.features.map((h) => [h.name, h]));
    let offset = 0;
    const lay = <T>(definitions: FeatureDefinition<T>[]): LaidOut<T>[] =>
      definitions.map((definition) => {
        const histogram = byName.get(definition.name);
        if (!histogram) throw new Error(`feature profile has no histogram of ${definition.name}`);
        const binned = binning(definition, histogram, spec, offset);
        offset += histogram.bins.length;
        return { ...binned, definition };
      });
    this.users = lay(USER_FEATURES);
    this.items = lay(ITEM_FEATURES);
    if (profile.prediction) {
      this.prediction = numericBinning(profile.prediction, offset);
      offset += profile.prediction.bins.length;
    }
    this.bins = offset;
  }

  /** Every histogram in layout order (features, then the prediction). */
  histograms(): { histogram: ProfileHistogram; offset: number }[] {
    return [...this.users, ...this.items, ...(this.prediction ? [this.prediction] : [])];
  }

  /** Flat bins of one encoded user row (without the prediction: that needs the vector). */
  userBins(t: UserTensors, row = 0): number[] {
    return this.rowBins(this.users, t, row);
  }

  itemBins(t: ItemTensors, row = 0): number[] {
    return this.rowBins(this.items, t, row);
  }

  /** Flat bin of a user vector's prediction score, or -1 without a prediction histogram. */
  predictionBin(score: number): number {
    return this.prediction ? this.prediction.offset + binOf(this.prediction, score) : -1;
  }

  private rowBins<T>(features: LaidOut<T>[], t: T, row: number): number[] {
    const out: number[] = [];
    const values = this.scratch;
    for (const f of features) {
      values.length = 0;
      f.definition.values(t, row, this.spec, values);
      if (values.length === 0 && f.noneBin !== undefined) out.push(f.offset + f.noneBin);
      for (let i = 0; i < values.length; i++) {
        const bin = binOf(f, values[i]!);
        if (bin >= 0) out.push(f.offset + bin);
      }
    }
    return out;
  }
}

function binning<T>(definition: FeatureDefinition<T>, histogram: ProfileHistogram, spec: FeatureSpec, offset: number): Binned {
  const where = `feature profile ${definition.name}`;
  if (histogram.kind !== definition.kind) throw new Error(`${where}: kind ${histogram.kind}, expected ${definition.kind}`);
  if (histogram.counts.length !== histogram.bins.length) throw new Error(`${where}: ${histogram.counts.length} counts for ${histogram.bins.length} bins`);
  if (definition.kind === "numeric") return numericBinning(histogram, offset);
  const vocab = spec.vocab[definition.vocabulary!];
  const kept = histogram.kept ?? [];
  const position = new Map(vocab.tokens.map((token, i) => [token, i + 2]));
  const hasOther = kept.length < vocab.tokens.length;
  const otherBin = kept.length;
  const unknownBin = kept.length + (hasOther ? 1 : 0);
  const noneBin = definition.kind === "bag" ? unknownBin + 1 : undefined;
  const expectedBins = unknownBin + 1 + (noneBin === undefined ? 0 : 1);
  if (histogram.bins.length !== expectedBins) throw new Error(`${where}: ${histogram.bins.length} bins, expected ${expectedBins} for ${kept.length} kept tokens`);
  // Vocabulary index → bin: padding -1 (not counted), OOV the unknown bin, a token its own bin or "(other)".
  const lookup = new Int32Array(vocab.size).fill(otherBin);
  lookup[PAD_INDEX] = -1;
  lookup[OOV_INDEX] = unknownBin;
  kept.forEach((token, bin) => {
    const index = position.get(token);
    if (index === undefined) throw new Error(`${where}: kept token ${JSON.stringify(token)} is not in the ${definition.vocabulary} vocabulary`);
    lookup[index] = bin;
  });
  return { histogram, offset, lookup, unknownBin, ...(noneBin === undefined ? {} : { noneBin }) };
}

function numericBinning(histogram: ProfileHistogram, offset: number): Binned {
  const edges = histogram.edges ?? [];
  if (histogram.bins.length !== edges.length + 1) throw new Error(`feature profile ${histogram.name}: ${histogram.bins.length} bins for ${edges.length} edges`);
  return { histogram, offset, edges: Float64Array.from(edges) };
}

/**
 * The reference profile of a trained version: the encoded training users and catalogue items (what the towers
 * saw), and the training users' embeddings with the catalogue's item embeddings for the prediction histogram.
 */
export function buildFeatureProfile(input: {
  spec: FeatureSpec;
  users: UserTensors;
  items: ItemTensors;
  userEmbeddings: Float32Array;
  itemEmbeddings: Float32Array;
  dim: number;
}): FeatureProfile {
  const { spec, users, items } = input;
  const histograms = [...USER_FEATURES.map((d) => fitHistogram(d, users, spec)), ...ITEM_FEATURES.map((d) => fitHistogram(d, items, spec))];
  const centroid = meanVector(input.itemEmbeddings, input.dim);
  const scores = Array.from({ length: users.count }, (_, row) => dot(input.userEmbeddings, row * input.dim, centroid));
  const edges = quantileEdges(scores);
  const profile: FeatureProfile = {
    format: FEATURE_PROFILE_FORMAT,
    featureSpecVersion: spec.version,
    rows: { users: users.count, items: items.count },
    features: histograms,
    prediction: users.count === 0 ? null : withZeroCounts({ name: PREDICTION_NAME, kind: "score", edges, bins: numericLabels(edges, (v) => v) }),
  };
  // Counted through the layout serving uses, so the reference is what serving would count for these rows.
  const layout = new DriftLayout(spec, profile);
  const counts = new Float64Array(layout.bins);
  for (let row = 0; row < users.count; row++) {
    for (const bin of layout.userBins(users, row)) counts[bin]!++;
    counts[layout.predictionBin(scores[row]!)]!++;
  }
  for (let row = 0; row < items.count; row++) for (const bin of layout.itemBins(items, row)) counts[bin]!++;
  // The layout holds these same histogram objects: fill in their counts.
  for (const { histogram, offset } of layout.histograms()) histogram.counts = Array.from(counts.subarray(offset, offset + histogram.bins.length));
  return profile;
}

function fitHistogram<T extends { count: number }>(definition: FeatureDefinition<T>, t: T, spec: FeatureSpec): ProfileHistogram {
  const values: number[] = [];
  for (let row = 0; row < t.count; row++) definition.values(t, row, spec, values);
  if (definition.kind === "numeric") {
    const edges = quantileEdges(values);
    return withZeroCounts({ name: definition.name, kind: "numeric", edges, bins: numericLabels(edges, (v) => definition.raw(v, spec)) });
  }
  const vocab = spec.vocab[definition.vocabulary!];
  let kept: string[];
  if (definition.keep === "none") kept = [];
  else if (definition.keep !== "top" || vocab.tokens.length <= MAX_TOKEN_BINS) kept = [...vocab.tokens];
  else {
    const frequency = new Float64Array(vocab.size);
    for (const v of values) frequency[v]!++;
    kept = vocab.tokens
      .map((token, i) => ({ token, n: frequency[i + 2]! }))
      .filter((t) => t.n > 0)
      .sort((a, b) => b.n - a.n)
      .slice(0, MAX_TOKEN_BINS)
      .map((t) => t.token);
  }
  const bins = [...kept];
  if (kept.length < vocab.tokens.length) bins.push(kept.length === 0 ? "(known)" : "(other)");
  bins.push(UNKNOWN_BIN);
  if (definition.kind === "bag") bins.push(NONE_BIN);
  return withZeroCounts({ name: definition.name, kind: definition.kind, kept, bins });
}

function withZeroCounts(histogram: Omit<ProfileHistogram, "counts">): ProfileHistogram {
  return { ...histogram, counts: histogram.bins.map(() => 0) };
}

/** Distinct decile values: upper bin edges (a value equal to an edge belongs to the bin below it). */
function quantileEdges(values: number[]): number[] {
  if (values.length === 0) return [];
  const sorted = Float64Array.from(values).sort();
  const edges: number[] = [];
  for (const q of QUANTILES) {
    const edge = sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge);
  }
  // An edge at the maximum would leave the last bin empty in the reference.
  if (edges[edges.length - 1] === sorted[sorted.length - 1]) edges.pop();
  return edges;
}

function numericLabels(edges: number[], raw: (encoded: number) => number): string[] {
  if (edges.length === 0) return ["all"];
  const shown = edges.map((e) => formatNumber(raw(e)));
  return [`≤ ${shown[0]}`, ...shown.slice(1).map((s, i) => `${shown[i]} – ${s}`), `> ${shown[shown.length - 1]}`];
}

function formatNumber(raw: number): string {
  // Edges are float32 encodings of the raw values: 0 comes back as 1e-8, 3 as 2.9999998.
  const value = Math.abs(raw - Math.round(raw)) < 1e-5 ? Math.round(raw) : raw;
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : Number(value.toPrecision(3)).toString();
}

/** Mean of the rows of a row-major [n, dim] matrix, in float64. */
export function meanVector(matrix: Float32Array, dim: number): Float64Array {
  const n = matrix.length / dim;
  const mean = new Float64Array(dim);
  for (let row = 0; row < n; row++) for (let d = 0; d < dim; d++) mean[d]! += matrix[row * dim + d]!;
  if (n > 0) for (let d = 0; d < dim; d++) mean[d]! /= n;
  return mean;
}

export function dot(matrix: ArrayLike<number>, offset: number, vector: Float64Array): number {
  let s = 0;
  for (let d = 0; d < vector.length; d++) s += matrix[offset + d]! * vector[d]!;
  return s;
}
