// Request checks shared by the similarity and recommendation adapters.
import { DeviceType, InteractionType, PageType, type UserFeatures } from "@funnel/proto";
import { InvalidArgumentError, requireKnownEnum } from "@funnel/runtime";
import { DEVICES, type Device, PAGES, type Page } from "@funnel/two-tower";

/** Longest id accepted; ids are opaque strings, but an unbounded one is a mistake worth naming. */
export const MAX_ID_CHARS = 512;

/** Enums must be known values (a decoder keeps unknown numbers); numbers are checked by the feature encoder. */
export function checkUserFeatures(features: UserFeatures, where: string): void {
  requireKnownEnum(features.device, DeviceType, `${where}.device`);
  features.recentInteractions.forEach((interaction, j) => {
    requireKnownEnum(interaction.page, PageType, `${where}.recent_interactions[${j}].page`);
    requireKnownEnum(interaction.interaction, InteractionType, `${where}.recent_interactions[${j}].interaction`);
  });
}

/** A non-empty vector of finite numbers (the index checks its dimension against the version's). */
export function requireVector(values: readonly number[], field: string): Float32Array {
  if (values.length === 0) throw new InvalidArgumentError(field, "must not be empty");
  const vector = Float32Array.from(values);
  const bad = vector.findIndex((v) => !Number.isFinite(v));
  if (bad !== -1) throw new InvalidArgumentError(`${field}[${bad}]`, "must be a finite number");
  return vector;
}

/** Proto DeviceType (known, not UNSPECIFIED) → the event schema's name. */
export function deviceName(device: DeviceType): Device {
  return DEVICES[device - 1]!;
}

/** Proto PageType (known, not UNSPECIFIED) → the event schema's name. */
export function pageName(page: PageType): Page {
  return PAGES[page - 1]!;
}
