import type { DeviceType, Interaction, InteractionType, ItemFeatures, PageType, UserFeatures } from "@funnel/proto";
import { DEVICES, INTERACTIONS, PAGES } from "../event.js";
import { CATEGORY_SEPARATOR, type RawInteraction, type RawItemFeatures, type RawUserFeatures } from "./raw-features.js";

// proto enums number their values 1..n in the same order as DEVICES / PAGES / INTERACTIONS; 0 (UNSPECIFIED)
// and -1 (UNRECOGNIZED) become "absent", which the spec imputes as OOV. Only types come from @funnel/proto,
// so this module adds no runtime dependency to serving.
function fromEnum<T>(values: readonly T[], value: number | undefined): T | undefined {
  return value !== undefined && value >= 1 ? values[value - 1] : undefined;
}

/**
 * The record without its undefined fields. Copied rather than `delete`d: a deleted property turns an object
 * into a slow dictionary, which made every later read of it (the encoder, cache keys) several times slower.
 */
function defined<T extends object>(record: T): T {
  const out: Record<string, unknown> = {};
  for (const key in record) if (record[key] !== undefined) out[key] = record[key];
  return out as T;
}

export function rawInteractionFromProto(message: Interaction): RawInteraction {
  // Spelt out rather than through defined(): one per interaction, the most frequent record of a request.
  const out: RawInteraction = {};
  const page = fromEnum(PAGES, message.page);
  if (page !== undefined) out.page = page;
  const interaction = fromEnum(INTERACTIONS, message.interaction);
  if (interaction !== undefined) out.interaction = interaction;
  if (message.itemId) out.itemId = message.itemId;
  if (message.durationSeconds !== undefined) out.durationSeconds = message.durationSeconds;
  return out;
}

/** proto funnel.v1.UserFeatures → the raw record encodeUsers takes. */
export function rawUserFeaturesFromProto(message: UserFeatures): RawUserFeatures {
  return defined({
    device: fromEnum(DEVICES, message.device),
    sessionCount: message.sessionCount,
    avgSessionDurationSeconds: message.avgSessionDurationSeconds,
    interactionCount: message.interactionCount,
    interactionDensity: message.interactionDensity,
    conversionCount: message.conversionCount,
    conversionRate: message.conversionRate,
    recentInteractions: message.recentInteractions.map(rawInteractionFromProto),
  });
}

/** proto funnel.v1.ItemFeatures → the raw record encodeItems takes. */
export function rawItemFeaturesFromProto(message: ItemFeatures): RawItemFeatures {
  return defined({
    itemId: message.itemId || undefined,
    page: fromEnum(PAGES, message.page),
    interaction: fromEnum(INTERACTIONS, message.interaction),
    avgDurationSeconds: message.avgDurationSeconds,
    category: message.category || undefined,
  });
}

function toEnum<E extends number>(values: readonly string[], value: string | undefined): E {
  return (value === undefined ? 0 : values.indexOf(value) + 1) as E;
}

/**
 * The inverse for clients (tests, load generators, replaying an events file against a server): a raw record as
 * the proto message a caller sends. Attributes have no proto field and are left out.
 */
export function userFeaturesToProto(raw: RawUserFeatures): UserFeatures {
  return {
    device: toEnum<DeviceType>(DEVICES, raw.device),
    sessionCount: raw.sessionCount,
    avgSessionDurationSeconds: raw.avgSessionDurationSeconds,
    interactionCount: raw.interactionCount,
    interactionDensity: raw.interactionDensity,
    conversionCount: raw.conversionCount,
    conversionRate: raw.conversionRate,
    recentInteractions: (raw.recentInteractions ?? []).map((i) => ({
      page: toEnum<PageType>(PAGES, i.page),
      interaction: toEnum<InteractionType>(INTERACTIONS, i.interaction),
      itemId: i.itemId ?? "",
      durationSeconds: i.durationSeconds ?? 0,
    })),
  };
}

export function itemFeaturesToProto(raw: RawItemFeatures): ItemFeatures {
  return {
    itemId: raw.itemId ?? "",
    page: toEnum<PageType>(PAGES, raw.page),
    interaction: toEnum<InteractionType>(INTERACTIONS, raw.interaction),
    avgDurationSeconds: raw.avgDurationSeconds,
    category: typeof raw.category === "string" ? raw.category : (raw.category ?? []).join(CATEGORY_SEPARATOR),
  };
}
