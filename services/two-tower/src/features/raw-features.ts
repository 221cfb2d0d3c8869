import type { Device, InteractionKind, Page } from "../event.js";

// Field names mirror proto funnel.v1 UserFeatures / ItemFeatures / Interaction (camelCase, enums as the
// lower-case names), so a served request maps to these one to one (see raw-features-from-proto.ts).
// Every field is optional: the feature spec imputes what is missing, which is what makes cold start work.

export interface RawInteraction {
  page?: Page;
  interaction?: InteractionKind;
  itemId?: string;
  durationSeconds?: number;
}

export interface RawUserFeatures {
  device?: Device;
  sessionCount?: number;
  avgSessionDurationSeconds?: number;
  interactionCount?: number;
  /** Interactions per session. */
  interactionDensity?: number;
  conversionCount?: number;
  /** Conversions per session. */
  conversionRate?: number;
  /** Oldest first; the encoder keeps the most recent sequenceLength. */
  recentInteractions?: RawInteraction[];
  /** Categorical attributes from a user attribute table (country, segment, ...), encoded as "name=value" tokens. */
  attributes?: Record<string, string>;
  /**
   * The user's salted pseudonym (pseudonymiseUserId), never the raw id: a spec with user.idBuckets hashes it into
   * the user-id table (userIdBucket); without it, or with a spec without buckets, the user tower runs on the rest.
   */
  userId?: string;
}

/** The "name=value" tokens of a user's attributes, sorted by name (the order never depends on the table's). */
export function attributeTokensOf(attributes: Record<string, unknown> | undefined): string[] {
  if (!attributes) return [];
  return Object.keys(attributes)
    .sort()
    .filter((k) => attributes[k] !== undefined && attributes[k] !== null && String(attributes[k]).trim() !== "")
    .map((k) => `${k}=${String(attributes[k]).trim()}`);
}

export interface RawItemFeatures {
  itemId?: string;
  page?: Page;
  interaction?: InteractionKind;
  avgDurationSeconds?: number;
  /**
   * The item's categories: several in one string separated by CATEGORY_SEPARATOR ("Action|Comedy", as attribute
   * tables and the proto's single string carry them) or as an array. An item in three genres keeps all three.
   */
  category?: string | readonly string[];
}

/** Separates several categories in one attribute-table cell or proto string. */
export const CATEGORY_SEPARATOR = "|";

/** The distinct non-empty categories of a raw `category` value, in first-seen order. */
export function categoriesOf(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const parts = typeof value === "string" ? value.split(CATEGORY_SEPARATOR) : value;
  return [...new Set(parts.map((c) => (typeof c === "string" ? c.trim() : c)).filter((c) => c !== ""))];
}

/** The numeric user fields in tensor column order; the spec stores one scaler per entry. */
export const USER_NUMERIC_FIELDS = [
  "sessionCount",
  "avgSessionDurationSeconds",
  "interactionCount",
  "interactionDensity",
  "conversionCount",
  "conversionRate",
] as const satisfies readonly (keyof RawUserFeatures)[];

export const ITEM_NUMERIC_FIELDS = ["avgDurationSeconds"] as const satisfies readonly (keyof RawItemFeatures)[];
