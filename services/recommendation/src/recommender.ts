// Data plane of the Recommendation service (no gRPC here). Each call leases one version and uses only that
// version's towers, indexes and statistics, so an answer never mixes versions.
//
// RecommendItems: candidates from the item index (nearest items to the user vector) and from the items of
// the most similar users (weighted by similarity), blended with a configurable weight; seen and excluded
// items removed; re-ranked by context (items of the current or next funnel page, items popular on the
// caller's device); popularity fills in for cold start (no user vector) and when too few candidates remain.
// GuideNextStep: the conversion head's probability for the user in this context (or the page base rate for
// versions without a head), and the next funnel steps ranked by how often similar users who reached them
// converted.
import { FailedPreconditionError, type ModelSlot } from "@funnel/runtime";
import { type IndexedTwoTower, embedFeatures, resolveUser } from "@funnel/similarity";
import { type Device, PAGES, type Page, predictConversion, pseudonymiseUserId, type RawUserFeatures } from "@funnel/two-tower";
import { MAX_K } from "@funnel/vector-index";

export type ItemSource = "item_retrieval" | "similar_users" | "popularity" | "hybrid";

export interface RecommendedItem {
  itemId: string;
  score: number;
  source: ItemSource;
}

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

interface Candidate {
  retrieval?: number;
  similar?: number;
}

export class Recommender {
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
      const candidates = new Map<string, Candidate>();
      if (user) {
        const fetch = Math.min(MAX_K, request.k * 3 + excluded.size);
        const retrieved = await indexed.items.search({ version: indexed.versionRef, vectors: [user.vector] }, fetch, { excludeIds: [...excluded] });
        for (const hit of retrieved.hits[0]!) candidates.set(hit.id, { retrieval: hit.score });
        for (const [itemId, vote] of await this.similarUsersItems(indexed, user.vector, user.indexedId, excluded)) {
          const c = candidates.get(itemId) ?? {};
          c.similar = vote;
          candidates.set(itemId, c);
        }
      }
      const w = this.options.similarUsersWeight;
      const scored: RecommendedItem[] = [...candidates].map(([itemId, c]) => ({
        itemId,
        score: ((1 - w) * (c.retrieval ?? 0) + w * (c.similar ?? 0)) * this.contextBoost(indexed, itemId, request.context),
        source: c.retrieval !== undefined && c.similar !== undefined ? "hybrid" : c.retrieval !== undefined ? "item_retrieval" : "similar_users",
      }));
      scored.sort(byScore);
      const items = scored.slice(0, request.k);
      // Cold start (no user vector) and too few candidates: the most popular unseen items, device-aware.
      if (items.length < request.k) {
        const taken = new Set(items.map((i) => i.itemId));
        for (const item of this.popular(indexed, request.context)) {
          if (items.length >= request.k) break;
          if (excluded.has(item.itemId) || taken.has(item.itemId)) continue;
          items.push(item);
        }
      }
      return { model: indexed.model, items };
    } finally {
      lease.release();
    }
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

  /** Items of the most similar users, each vote weighted by similarity, scaled so the top item is 1. */
  private async similarUsersItems(indexed: IndexedTwoTower, vector: Float32Array, self: string | undefined, excluded: Set<string>): Promise<Map<string, number>> {
    const votes = new Map<string, number>();
    const stats = indexed.stats;
    if (!stats || this.options.similarUsersWeight === 0) return votes;
    const similar = await indexed.users.search({ version: indexed.versionRef, vectors: [vector] }, this.options.similarUsers, { excludeIds: self ? [self] : [] });
    for (const hit of similar.hits[0]!) {
      const weight = Math.max(0, hit.score);
      for (const itemId of stats.users[hit.id]?.items ?? []) {
        if (!excluded.has(itemId)) votes.set(itemId, (votes.get(itemId) ?? 0) + weight);
      }
    }
    const top = Math.max(0, ...votes.values());
    if (top > 0) for (const [id, v] of votes) votes.set(id, v / top);
    return votes;
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

  private popular(indexed: IndexedTwoTower, context: RecommendContext): RecommendedItem[] {
    const items = Object.entries(indexed.stats?.items ?? {});
    const device = context.device;
    const count = (s: (typeof items)[number][1]) => (device ? (s.byDevice[device] ?? 0) : s.count);
    const top = Math.max(1, ...items.map(([, s]) => count(s)));
    return items.map(([itemId, s]) => ({ itemId, score: count(s) / top, source: "popularity" as const })).sort(byScore);
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

function byScore(a: RecommendedItem, b: RecommendedItem): number {
  return b.score - a.score || (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0);
}

function meanRate(rates: Partial<Record<Page, number>>): number {
  const values = Object.values(rates).filter((v): v is number => typeof v === "number");
  return values.length === 0 ? 0 : values.reduce((s, v) => s + v, 0) / values.length;
}
