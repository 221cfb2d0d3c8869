import type { InteractionEvent } from "../event.js";
import { INTERACTIONS, isInteractionKind, isPage, PAGES } from "../event.js";
import type { RawItemFeatures } from "./raw-features.js";

/**
 * What aggregateItemFeatures reads from an attribute row: ItemAttributes from loadItemAttributes and
 * GeneratedItem from generateDataset both fit.
 */
export interface ItemAttributeRow {
  itemId: string;
  category?: unknown;
  page?: unknown;
  interaction?: unknown;
}

/**
 * Per-item raw features: the page and interaction kind the item is most often met with (ties go to the
 * earlier one in PAGES / INTERACTIONS order), mean duration, and category from the attribute table. Items
 * that only appear in `attributes` are included too, so the whole catalogue can be embedded (cold start).
 */
export function aggregateItemFeatures(events: InteractionEvent[], attributeRows: readonly ItemAttributeRow[] = []): Map<string, RawItemFeatures> {
  const stats = new Map<string, { pages: number[]; kinds: number[]; seconds: number; count: number }>();
  for (const e of events) {
    let s = stats.get(e.itemId);
    if (!s) {
      s = { pages: PAGES.map(() => 0), kinds: INTERACTIONS.map(() => 0), seconds: 0, count: 0 };
      stats.set(e.itemId, s);
    }
    s.pages[PAGES.indexOf(e.page)]!++;
    s.kinds[INTERACTIONS.indexOf(e.interaction)]!++;
    s.seconds += e.durationSeconds;
    s.count++;
  }
  const result = new Map<string, RawItemFeatures>();
  for (const [itemId, s] of stats) {
    result.set(itemId, {
      itemId,
      page: PAGES[argMax(s.pages)]!,
      interaction: INTERACTIONS[argMax(s.kinds)]!,
      avgDurationSeconds: s.seconds / s.count,
    });
  }
  for (const attributes of attributeRows) {
    const item = result.get(attributes.itemId) ?? { itemId: attributes.itemId };
    if (typeof attributes.category === "string" && attributes.category !== "") item.category = attributes.category;
    // A catalogue page (e.g. from generateDataset's items) stands in for items never seen in events.
    if (item.page === undefined && isPage(attributes.page)) item.page = attributes.page;
    if (item.interaction === undefined && isInteractionKind(attributes.interaction)) item.interaction = attributes.interaction;
    result.set(attributes.itemId, item);
  }
  return result;
}

function argMax(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
