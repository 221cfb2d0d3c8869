// Realistic request mixes per service, written once in proto JSON (lowerCamelCase fields, enums by name) so
// that the k6 scripts (which send JSON through k6/net/grpc) and the Node generator (which decodes it with the
// generated fromJSON) replay the same traffic. No imports: k6 loads this file as it is.

/** One method in a mix: its share of the calls and the request for call number i. */
export interface MixEntry {
  /** "Service/Method" within funnel.v1, e.g. "SentimentService/Analyze". */
  readonly method: string;
  readonly weight: number;
  request(i: number): Record<string, unknown>;
}

export interface ServiceMix {
  readonly service: ServiceName;
  /** Proto file that declares the service, relative to the proto root. */
  readonly protoFile: string;
  readonly entries: readonly MixEntry[];
}

export type ServiceName = "sentiment" | "embedding" | "similarity" | "recommendation";

export const SERVICE_NAMES: readonly ServiceName[] = ["sentiment", "embedding", "similarity", "recommendation"];

/** Id space of the served model (users `user-000001`…, items `item-00001`…); ids outside it come back NOT_FOUND. */
export interface MixOptions {
  readonly users: number;
  readonly items: number;
  /** Share of user requests sent as raw features instead of an id (cold-start traffic). */
  readonly coldStartShare: number;
}

// The id space of the model `npm start` trains on its first run (--first-run-users 5000, gen-data's 1500
// items; a platform test holds them equal), so the scripts' defaults ask only for ids the served model knows.
export const DEFAULT_MIX_OPTIONS: MixOptions = { users: 5_000, items: 1_500, coldStartShare: 0.2 };

const PAGES = ["PAGE_TYPE_HOME", "PAGE_TYPE_SEARCH", "PAGE_TYPE_PRODUCT", "PAGE_TYPE_PAYMENT", "PAGE_TYPE_CONFIRMATION"];
const DEVICES = ["DEVICE_TYPE_DESKTOP", "DEVICE_TYPE_MOBILE", "DEVICE_TYPE_TABLET"];
const INTERACTIONS = ["INTERACTION_TYPE_CLICK", "INTERACTION_TYPE_SCROLL", "INTERACTION_TYPE_HOVER", "INTERACTION_TYPE_FORM"];
const CATEGORIES = ["electronics", "books", "fashion", "home-garden", "sports", "beauty", "toys", "grocery", "automotive", "music", "health", "pets"];

/** Feedback as shoppers write it, per page: complaints cluster on payment, praise on confirmation. */
const FEEDBACK: Record<string, readonly string[]> = {
  PAGE_TYPE_HOME: ["love the new look 😍", "too many banners, can't find anything", "site is sooo slow today", "nice deals this week"],
  PAGE_TYPE_SEARCH: ["search results are useless", "found exactly what I wanted", "no results for 'usb c cable'?!", "filters keep resetting"],
  PAGE_TYPE_PRODUCT: ["great photos and clear sizing", "price went up after I added it", "reviews helped a lot", "NOT the colour shown"],
  PAGE_TYPE_PAYMENT: ["I was charged twice!!", "my card was declined for no reason", "checkout was quick", "payment page froze, not happy"],
  PAGE_TYPE_CONFIRMATION: ["thanks, smooth order", "never got a confirmation email", "fast and easy 👍", "order number missing"],
};

/** Deterministic value in [0, 1) for call i and a salt, so a run is reproducible without shared state. */
export function unitHash(i: number, salt: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(salt + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

function pick<T>(values: readonly T[], i: number, salt: number): T {
  return values[Math.floor(unitHash(i, salt) * values.length)]!;
}

/** Popular ids are asked for more often than the tail (Zipf-like), as in real traffic. */
function skewedIndex(count: number, i: number, salt: number): number {
  return Math.min(count - 1, Math.floor(count * unitHash(i, salt) ** 3));
}

function userId(options: MixOptions, i: number): string {
  const width = Math.max(6, String(options.users).length);
  return `user-${String(skewedIndex(options.users, i, 11) + 1).padStart(width, "0")}`;
}

function itemId(options: MixOptions, i: number, salt = 13): string {
  const width = Math.max(5, String(options.items).length);
  return `item-${String(skewedIndex(options.items, i, salt) + 1).padStart(width, "0")}`;
}

function userFeatures(options: MixOptions, i: number): Record<string, unknown> {
  const sessions = 1 + Math.floor(unitHash(i, 21) * 8);
  const interactions = sessions * (2 + Math.floor(unitHash(i, 22) * 10));
  const conversions = Math.floor(unitHash(i, 23) * sessions);
  const history = Math.floor(unitHash(i, 24) * 6);
  return {
    device: pick(DEVICES, i, 25),
    sessionCount: sessions,
    avgSessionDurationSeconds: Math.round(30 + unitHash(i, 26) * 600),
    interactionCount: interactions,
    interactionDensity: interactions / sessions,
    conversionCount: conversions,
    conversionRate: conversions / sessions,
    recentInteractions: Array.from({ length: history }, (_, k) => ({
      page: pick(PAGES, i * 7 + k, 27),
      interaction: pick(INTERACTIONS, i * 7 + k, 28),
      itemId: itemId(options, i * 7 + k, 29),
      durationSeconds: Math.round(unitHash(i * 7 + k, 30) * 120),
    })),
  };
}

function coldStart(options: MixOptions, i: number): boolean {
  return unitHash(i, 31) < options.coldStartShare;
}

/** A user by id, or (the cold-start share) by raw features: the oneof every user-facing request has. */
function userInput(options: MixOptions, i: number): Record<string, unknown> {
  return coldStart(options, i) ? { features: userFeatures(options, i) } : { userId: userId(options, i) };
}

function analyzeRequest(i: number): Record<string, unknown> {
  const page = pick(PAGES, i, 1);
  return { text: pick(FEEDBACK[page]!, i, 2), page };
}

function context(options: MixOptions, i: number): Record<string, unknown> {
  const seen = Math.floor(unitHash(i, 41) * 4);
  return {
    currentPage: pick(PAGES.slice(0, 3), i, 42),
    device: pick(DEVICES, i, 43),
    sessionId: `session-${i}`,
    recentItemIds: Array.from({ length: seen }, (_, k) => itemId(options, i * 5 + k, 44)),
  };
}

/** The mix for one service. Weights are shares of calls; the request builders are pure functions of i. */
export function serviceMix(service: ServiceName, options: MixOptions = DEFAULT_MIX_OPTIONS): ServiceMix {
  switch (service) {
    case "sentiment":
      return {
        service,
        protoFile: "funnel/v1/sentiment.proto",
        entries: [
          { method: "SentimentService/Analyze", weight: 0.9, request: analyzeRequest },
          {
            method: "SentimentService/AnalyzeBatch",
            weight: 0.1,
            request: (i) => ({ items: Array.from({ length: 8 + Math.floor(unitHash(i, 3) * 57) }, (_, k) => analyzeRequest(i * 64 + k)) }),
          },
        ],
      };
    case "embedding":
      return {
        service,
        protoFile: "funnel/v1/embedding.proto",
        entries: [
          {
            method: "EmbeddingService/EmbedUsers",
            weight: 0.7,
            request: (i) => ({ users: Array.from({ length: 1 + Math.floor(unitHash(i, 51) ** 4 * 32) }, (_, k) => userInput(options, i * 32 + k)) }),
          },
          {
            method: "EmbeddingService/EmbedItems",
            weight: 0.3,
            request: (i) => ({
              items: Array.from({ length: 1 + Math.floor(unitHash(i, 52) ** 4 * 32) }, (_, k) =>
                coldStart(options, i * 32 + k)
                  ? {
                      features: {
                        itemId: `new-item-${i}-${k}`,
                        page: pick(PAGES.slice(0, 3), i * 32 + k, 53),
                        interaction: pick(INTERACTIONS, i * 32 + k, 54),
                        avgDurationSeconds: Math.round(unitHash(i * 32 + k, 55) * 90),
                        category: pick(CATEGORIES, i * 32 + k, 56),
                      },
                    }
                  : { itemId: itemId(options, i * 32 + k) },
              ),
            }),
          },
        ],
      };
    case "similarity":
      return {
        service,
        protoFile: "funnel/v1/similarity.proto",
        entries: [
          {
            method: "SimilarityService/FindSimilarUsers",
            weight: 1,
            request: (i) => ({
              ...userInput(options, i),
              topK: pick([10, 10, 10, 20, 50], i, 61),
            }),
          },
        ],
      };
    case "recommendation":
      return {
        service,
        protoFile: "funnel/v1/recommendation.proto",
        entries: [
          {
            method: "RecommendationService/RecommendItems",
            weight: 1,
            request: (i) => ({
              ...userInput(options, i),
              context: context(options, i),
              topK: pick([10, 10, 20], i, 71),
            }),
          },
        ],
      };
  }
}

/** Which entry call i uses: a deterministic weighted choice, interleaved rather than in blocks. */
export function pickEntry(mix: ServiceMix, i: number): MixEntry {
  const total = mix.entries.reduce((sum, entry) => sum + entry.weight, 0);
  let u = unitHash(i, 97) * total;
  for (const entry of mix.entries) {
    u -= entry.weight;
    if (u < 0) return entry;
  }
  return mix.entries[mix.entries.length - 1]!;
}
