// Data plane of the Recommendation service (no gRPC here). Each call leases one version and uses only that
// version's towers, indexes and statistics, so an answer never mixes versions.
//
// RecommendItems: the served policy of @funnel/two-tower (served-policy/), the one training evaluates:
// candidates from the item index, the items of the most similar users, the neighbours of the user's items
// and popularity, blended with the version's weights fitted on validation (served-policy.json; older
// versions: the configured similar-users weight); seen and excluded items removed; re-ranked by context
// (items of the current or next funnel page, items popular on the caller's device); popularity fills in for
// cold start (no user vector) and when too few candidates remain.
// GuideNextStep: the conversion head's probability for the user in this context (or the page base rate for
// versions without a head), and the next funnel steps ranked by how often similar users who reached them
// converted.
import { FailedPreconditionError, type ModelSlot } from "@funnel/runtime";
import { embedFeatures, type IndexedTwoTower, resolveUser } from "@funnel/similarity";
import {
  type Device,
  defaultPolicyWeights,
  PAGES,
  type Page,
  type PolicySources,
  type PolicyWeights,
  predictConversion,
  pseudonymiseUserId,
  type RawUserFeatures,
  type RecommendedItem,
  recommendItems,
  type ScoredId,
} from "@funnel/two-tower";
import { MAX_K } from "@funnel/vector-index";

export type { ItemSource, RecommendedItem } from "@funnel/two-tower";

export interface RecommendContext {
  page?: Page | undefined;
  device?: Device | undefined;
  /** Items seen in this session: excluded. */
  recentItemIds: readonly string[];
}

export interface RecommendRequest {
  userId?: string | undefined;
  features?: RawUserFeatures | undefined;
  context: RecommendContext;
  k: number;
  excludeItemIds: readonly string[];
  version?: string | undefined;
}

export interface NextStep {
  page: Page;
  action: string;
  score: number;
  reason: string;
}

export interface Guidance {
  model: { name: string; version: string };
  nextPage: Page | undefined;
  conversionProbability: number;
  /** "model": the conversion head; "page_base_rate": the version has none. */
  estimate: "model" | "page_base_rate";
  suggestions: NextStep[];
}

export interface RecommenderOptions {
  slot: ModelSlot<IndexedTwoTower>;
  salt: string;
  similarUsersWeight: number;
  similarUsers: number;
  contextWeight: number;
}

/** Machine-readable action per target page, for the caller's UI. */
const ACTIONS: Record<Page, string> = {
  home: "show_personalised_home",
  search: "show_search_suggestions",
  product: "show_similar_items",
  payment: "offer_saved_payment",
  confirmation: "complete_checkout",
};

export class Recommender {
  /** Popularity lists per version and device: sorted once, not per call (dropped with the version). */
  private readonly popularity = new WeakMap<IndexedTwoTower, Map<string, { list: ScoredId[]; score: Map<string, number> }>>();

  constructor(private readonly options: RecommenderOptions) {}

  get slot(): ModelSlot<IndexedTwoTower> {
    return this.options.slot;
  }

  async recommend(request: RecommendRequest): Promise<{ model: { name: string; version: string }; items: RecommendedItem[] }> {
    const lease = this.options.slot.acquire({ version: request.version });
    try {
      const indexed = lease.model;
      const user = await this.userOf(indexed, request.userId, request.features);
      const excluded = new Set([...request.excludeItemIds, ...request.context.recentItemIds, ...(user?.seen ?? [])]);
      // The policy training evaluated (metrics.json `served`) and fitted the weights of, on this version.
      const items = await recommendItems(
        this.sourcesOf(indexed, request.context),
        { vector: user?.vector, indexedId: user?.indexedId, history: user?.seen ?? [] },
        { k: request.k, excluded, similarUsers: this.options.similarUsers },
        this.weightsOf(indexed),
        (itemId) => this.contextBoost(indexed, itemId, request.context),
      );
      return { model: indexed.model, items };
    } finally {
      lease.release();
    }
  }

  /** The version's weights fitted on validation; older versions: retrieval and similar users as configured. */
  weightsOf(indexed: IndexedTwoTower): PolicyWeights {
    return indexed.policy?.weights ?? defaultPolicyWeights(this.options.similarUsersWeight);
  }

  /** The policy's view of a leased version: its indexes, statistics, neighbours and (device-aware) popularity. */
  private sourcesOf(indexed: IndexedTwoTower, context: RecommendContext): PolicySources {
    const search = async (index: IndexedTwoTower["items"], vector: Float32Array, k: number, excludeIds: readonly string[]) => {
      const result = await index.search({ version: indexed.versionRef, vectors: [vector] }, Math.max(1, Math.min(MAX_K, k)), { excludeIds });
      return result.hits[0]!.map((h) => ({ id: h.id, score: h.score }));
    };
    const popular = this.popular(indexed, context.device);
    return {
      nearestItems: (vector, k, excludeIds) => search(indexed.items, vector, k, excludeIds),
      nearestUsers: (vector, k, excludeIds) => search(indexed.users, vector, k, excludeIds),
      itemsOfUser: (userId) => indexed.stats?.users[userId]?.items,
      itemVector: (itemId) => {
        const row = indexed.served.items.rowOf(itemId);
        return row === undefined ? undefined : indexed.served.items.vector(row);
      },
      neighbours: indexed.neighbours,
      popular: popular.list,
      popularityOf: (itemId) => popular.score.get(itemId) ?? 0,
    };
  }

  async guide(request: Omit<RecommendRequest, "k" | "excludeItemIds">): Promise<Guidance> {
    const lease = this.options.slot.acquire({ version: request.version });
    try {
      const indexed = lease.model;
      const { page, device } = request.context;
      const user = await this.userOf(indexed, request.userId, request.features);
      // Without a user: the tower's vector for an empty profile on this device (the imputed average user); made
      // up here, not sent, so not counted in the drift profile.
      const vector = user?.vector ?? (await embedFeatures(indexed, { device: device ?? request.features?.device }, "features", this.options.salt, false));
      const baseRates = indexed.stats?.baseRates;
      let conversionProbability: number;
      let estimate: Guidance["estimate"];
      if (indexed.conversionHead) {
        conversionProbability = predictConversion(indexed.conversionHead, vector, page, device ?? user?.device ?? request.features?.device);
        estimate = "model";
      } else if (baseRates) {
        conversionProbability = (page && baseRates[page]) ?? meanRate(baseRates);
        estimate = "page_base_rate";
      } else {
        throw new FailedPreconditionError(
          `${indexed.model.name} version ${indexed.model.version} has neither a conversion head nor interaction statistics (trained before they existed); retrain it or serve a newer version`,
        );
      }
      return { model: indexed.model, conversionProbability, estimate, ...(await this.nextSteps(indexed, vector, user?.indexedId, page)) };
    } finally {
      lease.release();
    }
  }

  /** The user's vector, pseudonym and seen items; undefined for cold start (unknown id and no features). */
  private async userOf(indexed: IndexedTwoTower, userId: string | undefined, features: RawUserFeatures | undefined) {
    if (userId) {
      const pseudonym = pseudonymiseUserId(userId, this.options.salt);
      const known = indexed.upserted.has(pseudonym) || indexed.served.users.rowOf(pseudonym) !== undefined;
      if (known) {
        const { vector } = await resolveUser(indexed, { userId }, this.options.salt, "user");
        const stats = indexed.stats?.users[pseudonym];
        return { vector, indexedId: pseudonym, seen: stats?.items ?? [], device: stats?.device };
      }
    }
    if (features) {
      // A user without a stored vector still has an id: it reaches the user tower's id buckets unless the features name one.
      const withId = userId ? { userId, ...features } : features;
      return { vector: await embedFeatures(indexed, withId, "features", this.options.salt), indexedId: undefined, seen: [], device: features.device };
    }
    return undefined;
  }

  /** ≥ 1: items of the current or next funnel page, and items used more than average on the caller's device. */
  private contextBoost(indexed: IndexedTwoTower, itemId: string, context: RecommendContext): number {
    const item = indexed.stats?.items[itemId];
    if (!item || this.options.contextWeight === 0) return 1;
    let affinity = 0;
    if (context.page) {
      const at = PAGES.indexOf(context.page);
      const itemAt = PAGES.indexOf(item.page);
      if (itemAt === at || itemAt === at + 1) affinity += 0.5;
    }
    if (context.device && item.count > 0) affinity += 0.5 * ((item.byDevice[context.device] ?? 0) / item.count);
    return 1 + this.options.contextWeight * affinity;
  }

  /** Items by popularity (interactions on `device` when given), top = 1; computed once per version and device. */
  private popular(indexed: IndexedTwoTower, device: Device | undefined): { list: ScoredId[]; score: Map<string, number> } {
    let byDevice = this.popularity.get(indexed);
    if (!byDevice) {
      byDevice = new Map();
      this.popularity.set(indexed, byDevice);
    }
    const key = device ?? "";
    let cached = byDevice.get(key);
    if (!cached) {
      const items = Object.entries(indexed.stats?.items ?? {});
      const count = (s: (typeof items)[number][1]) => (device ? (s.byDevice[device] ?? 0) : s.count);
      const top = Math.max(1, ...items.map(([, s]) => count(s)));
      const list = items.map(([id, s]) => ({ id, score: count(s) / top })).sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      cached = { list, score: new Map(list.map((p) => [p.id, p.score])) };
      byDevice.set(key, cached);
    }
    return cached;
  }

  /**
   * Funnel pages after the current one, ranked by the similarity-weighted conversion rate of similar users
   * who reached them, shrunk toward the page's base rate (one pseudo-user), so a page few neighbours reached
   * does not win on one lucky conversion.
   */
  private async nextSteps(indexed: IndexedTwoTower, vector: Float32Array, self: string | undefined, page: Page | undefined): Promise<Pick<Guidance, "nextPage" | "suggestions">> {
    const stats = indexed.stats;
    if (!stats) return { nextPage: undefined, suggestions: [] };
    const at = page ? PAGES.indexOf(page) : 0;
    // Confirmation is only reached by converting: it is a suggestion only from payment.
    const targets = PAGES.slice(at + 1).filter((p) => p !== "confirmation" || page === "payment");
    const similar = await indexed.users.search({ version: indexed.versionRef, vectors: [vector] }, this.options.similarUsers, { excludeIds: self ? [self] : [] });
    const suggestions = targets.map((target): NextStep => {
      let reached = 0;
      let weight = 0;
      let converted = 0;
      for (const hit of similar.hits[0]!) {
        const u = stats.users[hit.id];
        if (!u?.pages.includes(target)) continue;
        const w = Math.max(0, hit.score);
        reached++;
        weight += w;
        if (u.converted) converted += w;
      }
      const prior = stats.baseRates[target] ?? meanRate(stats.baseRates);
      const score = (converted + prior) / (weight + 1);
      return {
        page: target,
        action: ACTIONS[target],
        score,
        reason: `${reached} of ${similar.hits[0]!.length} similar users reached ${target}; similarity-weighted conversion ${(score * 100).toFixed(1)}%`,
      };
    });
    suggestions.sort((a, b) => b.score - a.score);
    return { nextPage: suggestions[0]?.page, suggestions };
  }
}

function meanRate(rates: Partial<Record<Page, number>>): number {
  const values = Object.values(rates).filter((v): v is number => typeof v === "number");
  return values.length === 0 ? 0 : values.reduce((s, v) => s + v, 0) / values.length;
}
