/**
 * The funnel event schema. The string values double as the enum names of proto funnel.v1 (lower-cased,
 * without the type prefix), so a serving adapter maps proto enums to these names one to one.
 */
export const DEVICES = ["desktop", "mobile", "tablet"] as const;
export type Device = (typeof DEVICES)[number];

/** Funnel steps in funnel order; code that measures drop-off relies on this order. */
export const PAGES = ["home", "search", "product", "payment", "confirmation"] as const;
export type Page = (typeof PAGES)[number];

export const INTERACTIONS = ["click", "scroll", "hover", "form"] as const;
export type InteractionKind = (typeof INTERACTIONS)[number];

export interface InteractionEvent {
  userId: string;
  sessionId: string;
  /** Epoch milliseconds. */
  timestamp: number;
  device: Device;
  page: Page;
  interaction: InteractionKind;
  durationSeconds: number;
  itemId: string;
  /** True on the event that completed a purchase. */
  converted: boolean;
  /** Free-text feedback left with this event, if any. */
  text?: string;
}

export interface ItemAttributes {
  itemId: string;
  category?: string;
  [k: string]: unknown;
}

export interface UserAttributes {
  userId: string;
  [k: string]: unknown;
}

export function isDevice(value: unknown): value is Device {
  return (DEVICES as readonly unknown[]).includes(value);
}

export function isPage(value: unknown): value is Page {
  return (PAGES as readonly unknown[]).includes(value);
}

export function isInteractionKind(value: unknown): value is InteractionKind {
  return (INTERACTIONS as readonly unknown[]).includes(value);
}
