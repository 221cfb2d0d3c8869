import type { Device, InteractionEvent, InteractionKind, Page } from "@funnel/two-tower";
import { createSeededRandom, type SeededRandom } from "./seeded-random.js";

export { writeEvents } from "./write-events.js";

export interface GeneratedUser {
  userId: string;
  /** Latent segment: ground truth for similar-user evaluation, never an input feature. */
  segment: string;
  /** The device the user mostly uses (about 1 session in 10 happens on another one). */
  device: Device;
}

export interface GeneratedItem {
  itemId: string;
  category: string;
  /** Where the item lives: category banners on home, listings on search, products on product pages. */
  page: Page;
}

export const CATEGORIES = [
  "electronics",
  "books",
  "fashion",
  "home-garden",
  "sports",
  "beauty",
  "toys",
  "grocery",
  "automotive",
  "music",
  "health",
  "pets",
] as const;

interface SegmentProfile {
  name: string;
  /** Indices into CATEGORIES. Disjoint pairs: with overlapping triples a scorer using only a user's
   * own history reached 1.7× popularity Recall@10 on a time split (an oracle knowing the segment 3×); with
   * disjoint pairs 2.9× and 4.5×, leaving a two-tower model room to reach 2×. */
  categories: readonly number[];
  devices: Readonly<Record<Device, number>>;
  meanSessions: number;
  /** Probability that a session which reaches a product goes on to payment. */
  buyRate: number;
}

export const SEGMENTS: readonly SegmentProfile[] = [
  { name: "tech-enthusiasts", categories: [0, 8], devices: { desktop: 0.6, mobile: 0.3, tablet: 0.1 }, meanSessions: 4.5, buyRate: 0.45 },
  { name: "readers", categories: [1, 9], devices: { desktop: 0.3, mobile: 0.3, tablet: 0.4 }, meanSessions: 4, buyRate: 0.4 },
  { name: "trend-seekers", categories: [2, 5], devices: { desktop: 0.15, mobile: 0.75, tablet: 0.1 }, meanSessions: 5, buyRate: 0.3 },
  { name: "home-makers", categories: [3, 7], devices: { desktop: 0.4, mobile: 0.4, tablet: 0.2 }, meanSessions: 3.5, buyRate: 0.5 },
  { name: "athletes", categories: [4, 10], devices: { desktop: 0.3, mobile: 0.6, tablet: 0.1 }, meanSessions: 4, buyRate: 0.35 },
  { name: "families", categories: [6, 11], devices: { desktop: 0.35, mobile: 0.45, tablet: 0.2 }, meanSessions: 3.5, buyRate: 0.4 },
];

/** Share of a user's category choices that go to the segment's categories (the learnable signal). */
const SEGMENT_CATEGORY_SHARE = 0.85;
/** Steeper than the global mix: each segment has its own favourites inside a category. */
const ZIPF_EXPONENT = 1.1;
const REVISIT_PROBABILITY = 0.3;
const PAYMENT_ERROR_PROBABILITY = 0.12;
const START_MS = Date.UTC(2026, 0, 1);
const WINDOW_MS = 90 * 24 * 3600 * 1000;

const BASE_DURATION: Record<Page, number> = { home: 8, search: 20, product: 45, payment: 60, confirmation: 10 };
const DEVICE_PACE: Record<Device, number> = { desktop: 1.1, mobile: 0.8, tablet: 1 };
const SEARCH_PROBABILITY: Record<Device, number> = { desktop: 0.78, mobile: 0.66, tablet: 0.72 };
const DEVICE_LIST: readonly Device[] = ["desktop", "mobile", "tablet"];

const POSITIVE = [
  "Checkout was quick and the {c} order arrived exactly as described, great service.",
  "Love how easy it was to find great {c} deals, very satisfied.",
  "Excellent service, smooth payment, will buy {c} here again.",
  "Great prices and fast delivery, really happy with my purchase.",
  "Everything worked perfectly, the confirmation came right away.",
  "Very pleased, the {c} section is well organised and checkout was painless.",
];
const PAYMENT_FAILED = [
  "Payment failed twice, really frustrating experience.",
  "My card was declined for no reason, terrible checkout.",
  "The payment page kept timing out, I gave up on the {c} order.",
  "Awful, the checkout broke and I was charged nothing but wasted half an hour.",
  "Payment error again, so disappointed, I will shop elsewhere.",
];
const ABANDONED = [
  "Could not find what I was looking for in {c}, disappointed.",
  "Search results were useless and the pages were slow.",
  "Too expensive and the {c} selection is poor.",
  "Confusing site, I hate how hard it is to compare products.",
];

/**
 * Synthetic funnel data with real signal: users belong to latent segments, each segment prefers two
 * categories and has its own favourite items inside them, so a user's future items are predictable from their
 * past ones in a way global popularity is not. Deterministic for a seed.
 */
export function generateDataset(options: { users: number; seed: number; items?: number }): {
  events: InteractionEvent[];
  users: GeneratedUser[];
  items: GeneratedItem[];
} {
  const userCount = options.users;
  const itemCount = options.items ?? 1500;
  if (!Number.isInteger(userCount) || userCount < 1) throw new RangeError(`users must be an integer >= 1, got ${userCount}`);
  const minItems = CATEGORIES.length * 3;
  if (!Number.isInteger(itemCount) || itemCount < minItems) {
    throw new RangeError(`items must be an integer >= ${minItems} (3 per category), got ${itemCount}`);
  }
  const rng = createSeededRandom(options.seed);
  const catalogue = buildCatalogue(itemCount, rng);

  const users: GeneratedUser[] = [];
  const events: InteractionEvent[] = [];
  const idWidth = Math.max(6, String(userCount).length);
  for (let u = 0; u < userCount; u++) {
    const segmentIndex = rng.int(SEGMENTS.length);
    const segment = SEGMENTS[segmentIndex]!;
    const device = DEVICE_LIST[rng.weighted(DEVICE_LIST.map((d) => segment.devices[d]))]!;
    const user: GeneratedUser = { userId: `user-${String(u + 1).padStart(idWidth, "0")}`, segment: segment.name, device };
    users.push(user);
    simulateUser(user, segmentIndex, catalogue, rng, events);
  }
  // A log is in time order; the sort is stable so same-millisecond events keep their causal order.
  events.sort((a, b) => a.timestamp - b.timestamp);
  return { events, users, items: catalogue.items };
}

type ShelfPage = "home" | "search" | "product";

interface Catalogue {
  items: GeneratedItem[];
  /** [category][page "home"|"search"|"product"] → item indices. */
  byCategory: { home: number[]; search: number[]; product: number[] }[];
  /** [segment][category][page] → the segment's own Zipf ranking of that shelf. */
  segmentShelves: Record<ShelfPage, { order: number[]; weights: number[]; total: number }>[][];
}

function buildCatalogue(itemCount: number, rng: SeededRandom): Catalogue {
  const items: GeneratedItem[] = [];
  const byCategory = CATEGORIES.map(() => ({ home: [] as number[], search: [] as number[], product: [] as number[] }));
  const width = Math.max(5, String(itemCount).length);
  CATEGORIES.forEach((category, c) => {
    const n = Math.floor(itemCount / CATEGORIES.length) + (c < itemCount % CATEGORIES.length ? 1 : 0);
    const homeCount = Math.max(1, Math.round(n * 0.08));
    const searchCount = Math.max(1, Math.round(n * 0.16));
    for (let k = 0; k < n; k++) {
      const page: Page = k < homeCount ? "home" : k < homeCount + searchCount ? "search" : "product";
      const index = items.length;
      items.push({ itemId: `item-${String(index + 1).padStart(width, "0")}`, category, page });
      byCategory[c]![page as ShelfPage].push(index);
    }
  });
  const rank = (shelf: number[]): { order: number[]; weights: number[]; total: number } => {
    const order = rng.shuffle([...shelf]);
    const weights = order.map((_, r) => 1 / (r + 1) ** ZIPF_EXPONENT);
    return { order, weights, total: weights.reduce((a, b) => a + b, 0) };
  };
  const segmentShelves = SEGMENTS.map(() =>
    byCategory.map((shelves) => ({ home: rank(shelves.home), search: rank(shelves.search), product: rank(shelves.product) })),
  );
  return { items, byCategory, segmentShelves };
}

function simulateUser(
  user: GeneratedUser,
  segmentIndex: number,
  catalogue: Catalogue,
  rng: SeededRandom,
  out: InteractionEvent[],
): void {
  const segment = SEGMENTS[segmentIndex]!;
  const sessions = 1 + Math.floor(-Math.log(1 - rng.next()) * (segment.meanSessions - 1));
  const starts = Array.from({ length: sessions }, () => START_MS + Math.floor(rng.next() * WINDOW_MS)).sort((a, b) => a - b);
  const seenProducts: number[] = [];

  for (const start of starts) {
    const device = rng.next() < 0.9 ? user.device : rng.pick(DEVICE_LIST.filter((d) => d !== user.device));
    const sessionId = `s-${hex(rng)}${hex(rng)}`;
    const category =
      rng.next() < SEGMENT_CATEGORY_SHARE ? rng.pick(segment.categories) : rng.int(CATEGORIES.length);
    const categoryName = CATEGORIES[category]!;
    const pick = (page: ShelfPage): number => pickItem(catalogue, segmentIndex, category, page, rng);
    let clock = start;
    let last: InteractionEvent | undefined;
    const emit = (page: Page, interaction: InteractionKind, itemIndex: number, converted = false): InteractionEvent => {
      const seconds = Math.round(BASE_DURATION[page] * DEVICE_PACE[device] * Math.exp(0.5 * rng.normal()) * 10) / 10;
      const event: InteractionEvent = {
        userId: user.userId,
        sessionId,
        timestamp: clock,
        device,
        page,
        interaction,
        durationSeconds: seconds,
        itemId: catalogue.items[itemIndex]!.itemId,
        converted,
      };
      clock += Math.round(seconds * 1000) + 1000 + rng.int(4000);
      out.push(event);
      last = event;
      return event;
    };

    emit("home", rng.pick(["scroll", "click", "hover"] as const), pick("home"));
    if (rng.next() < 0.3) emit("home", "click", pick("home"));
    if (rng.next() >= SEARCH_PROBABILITY[device]) {
      maybeFeedback(last!, ABANDONED, 0.03, categoryName, rng);
      continue;
    }
    emit("search", "form", pick("search"));
    if (rng.next() < 0.5) emit("search", "click", pick("search"));
    if (rng.next() >= 0.7) {
      maybeFeedback(last!, ABANDONED, 0.08, categoryName, rng);
      continue;
    }
    const views = 1 + rng.int(3);
    let product = -1;
    for (let v = 0; v < views; v++) {
      const revisit = seenProducts.length > 0 && rng.next() < REVISIT_PROBABILITY;
      product = revisit ? rng.pick(seenProducts) : pick("product");
      seenProducts.push(product);
      emit("product", rng.pick(["click", "scroll", "hover"] as const), product);
      if (rng.next() < 0.4) emit("product", rng.pick(["scroll", "hover"] as const), product);
    }
    // Checkout on a phone is more awkward, so fewer mobile sessions go on to pay.
    const mobileCheckout = device === "mobile" ? 0.8 : 1;
    if (rng.next() >= segment.buyRate * mobileCheckout) {
      maybeFeedback(last!, ABANDONED, 0.08, categoryName, rng);
      continue;
    }
    const payment = emit("payment", "form", product);
    if (rng.next() < PAYMENT_ERROR_PROBABILITY) {
      if (rng.next() < 0.6) {
        maybeFeedback(payment, PAYMENT_FAILED, 0.6, categoryName, rng);
        continue;
      }
      emit("payment", "form", product);
    } else if (rng.next() < 0.1) {
      continue; // second thoughts at the last step, without an error
    }
    const confirmation = emit("confirmation", rng.pick(["click", "scroll"] as const), product, true);
    maybeFeedback(confirmation, POSITIVE, 0.25, categoryName, rng);
  }
}

function pickItem(catalogue: Catalogue, segmentIndex: number, category: number, page: ShelfPage, rng: SeededRandom): number {
  const shelf = catalogue.segmentShelves[segmentIndex]![category]![page];
  return shelf.order[rng.weighted(shelf.weights, shelf.total)]!;
}

function maybeFeedback(event: InteractionEvent, templates: readonly string[], probability: number, category: string, rng: SeededRandom): void {
  if (rng.next() < probability) event.text = rng.pick(templates).replace("{c}", category);
}

function hex(rng: SeededRandom): string {
  return rng.int(0x1000000).toString(16).padStart(6, "0");
}
