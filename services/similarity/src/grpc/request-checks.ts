// Request checks shared by the similarity and recommendation adapters.
import type { DeviceType, PageType } from "@funnel/proto";
import { InvalidArgumentError } from "@funnel/runtime";
import { DEVICES, type Device, PAGES, type Page } from "@funnel/two-tower";

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
