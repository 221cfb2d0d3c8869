// What recommendation needs of the training events beyond the embeddings: per-user device, items and funnel
// progress (keyed by the same pseudonyms as embeddings/users.ids.txt), and per-item popularity and page.
import type { Device, Page } from "./event.js";

export const INTERACTION_STATS_FORMAT = 1;

export interface UserStats {
  device: Device;
  /** Distinct items the user interacted with, most interacted first (capped in training). */
  items: string[];
  /** Funnel pages the user reached at least once. */
  pages: Page[];
  /** Whether any of the user's sessions converted. */
  converted: boolean;
}

export interface ItemStats {
  /** Interactions with the item. */
  count: number;
  /** Page the item was most often seen on. */
  page: Page;
  /** Interactions per device. */
  byDevice: Partial<Record<Device, number>>;
}

export interface InteractionStats {
  format: typeof INTERACTION_STATS_FORMAT;
  users: Record<string, UserStats>;
  items: Record<string, ItemStats>;
  /**
   * Per page: share of the events before a session's first conversion whose session converted later. The
   * page-level base rate the conversion head is measured against, and the fallback without a head.
   */
  baseRates: Partial<Record<Page, number>>;
}

/** Checks the shape of a parsed interaction-stats.json; throws naming what is wrong. */
export function parseInteractionStats(value: unknown): InteractionStats {
  const stats = value as Partial<InteractionStats>;
  if (stats?.format !== INTERACTION_STATS_FORMAT) throw new Error(`interaction-stats.json: format ${String(stats?.format)} is not ${INTERACTION_STATS_FORMAT}`);
  if (typeof stats.users !== "object" || typeof stats.items !== "object" || typeof stats.baseRates !== "object") {
    throw new Error("interaction-stats.json: users, items and baseRates must be objects");
  }
  return stats as InteractionStats;
}
