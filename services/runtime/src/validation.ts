// Request checks shared by every service, so limits and messages read the same everywhere.
import { DeviceType, InteractionType, PageType, type ItemFeatures, type UserFeatures } from "@funnel/proto";
import { InvalidArgumentError } from "./errors.js";

/** Non-empty, not only whitespace, at most maxChars characters (code points). */
export function requireText(value: string, field: string, maxChars: number): string {
  if (value.trim() === "") throw new InvalidArgumentError(field, "must not be empty or only whitespace");
  // Count code points, not UTF-16 units, so an emoji counts as one character, as a user would count it.
  let count = 0;
  for (const _ of value) {
    if (++count > maxChars) {
      throw new InvalidArgumentError(field, `is longer than the limit of ${maxChars} characters; shorten or split it`);
    }
  }
  return value;
}

/**
 * A protobuf enum field holding a value this server knows. Protobuf decoders keep unknown numbers (a newer
 * client, a bad client), so they must be rejected here rather than treated as some default.
 */
export function requireKnownEnum<E extends Record<string, string | number>>(
  value: number,
  enumObject: E,
  field: string,
  options: { allowUnspecified?: boolean } = {},
): number {
  const name = enumObject[value as unknown as keyof E];
  const known = typeof name === "string" && value >= 0;
  if (!known) {
    const valid = Object.entries(enumObject)
      .filter(([, v]) => typeof v === "number" && v >= 0)
      .map(([k]) => k)
      .join(", ");
    throw new InvalidArgumentError(field, `unknown enum value ${value}; expected one of ${valid}`);
  }
  if (value === 0 && options.allowUnspecified === false) {
    throw new InvalidArgumentError(field, `must be set (got ${String(name)})`);
  }
  return value;
}

/** A repeated field with 1..max entries (or 0..max with allowEmpty). */
export function requireCount(count: number, field: string, max: number, options: { allowEmpty?: boolean } = {}): void {
  if (count === 0 && !options.allowEmpty) throw new InvalidArgumentError(field, "must contain at least one entry");
  if (count > max) {
    throw new InvalidArgumentError(field, `has ${count} entries, over the limit of ${max}; split the request`);
  }
}

/** Longest id accepted; ids are opaque strings, but an unbounded one is a mistake worth naming. */
export const MAX_ID_CHARS = 512;

/**
 * The enums of raw user features must be known values (a decoder keeps unknown numbers, which the feature
 * mapping would otherwise treat as absent); numbers are checked by the feature encoder.
 */
export function checkUserFeatures(features: UserFeatures, where: string): void {
  requireKnownEnum(features.device, DeviceType, `${where}.device`);
  features.recentInteractions.forEach((interaction, j) => {
    requireKnownEnum(interaction.page, PageType, `${where}.recent_interactions[${j}].page`);
    requireKnownEnum(interaction.interaction, InteractionType, `${where}.recent_interactions[${j}].interaction`);
  });
}

/** The enums of raw item features, as checkUserFeatures. */
export function checkItemFeatures(features: ItemFeatures, where: string): void {
  requireKnownEnum(features.page, PageType, `${where}.page`);
  requireKnownEnum(features.interaction, InteractionType, `${where}.interaction`);
}
