// What RecommendItems serves, measured offline: the served policy of @funnel/two-tower (the functions the
// Recommendation service calls, not a copy) run on exact in-process indexes of one evaluation context — the
// held-out users' vectors and histories from before the held-out period, the item vectors, the neighbour
// list and popularity fitted on the training interactions — and scored by the metrics code of the model and
// the baselines. The blend weights are fitted here on validation and only then applied to test.
import {
  type Candidate,
  DEFAULT_SIMILAR_USERS,
  fillWithPopular,
  gatherCandidates,
  ItemNeighbours,
  type ItemNeighboursFile,
  itemNeighboursFromRows,
  POLICY_SOURCES,
  type PolicySources,
  type PolicyWeights,
  type RecommendedItem,
  recommendItems,
  type ScoredId,
} from "@funnel/two-tower";
import { ExactIndex, MAX_K } from "@funnel/vector-index";
import type { ItemToItemModel } from "./item-to-item-baselines.js";
import { type RetrievalMetrics, rankAndScore, type UserHitsListener } from "./retrieval-metrics.js";

/** How the neighbour list is fitted: EASE or item-kNN rows cut to their top K, or no neighbour source. */
export const NEIGHBOUR_METHODS = ["ease", "item-knn", "none"] as const;
export type NeighbourMethod = (typeof NEIGHBOUR_METHODS)[number];

/** Neighbours kept per item. */
export const DEFAULT_NEIGHBOURS_K = 50;

/** Deepest cut-off the metrics read (recall@20). */
const METRICS_K = 20;

/** One evaluation context as the policy sees it (rows of RetrievalContext / RetrievalTask). */
export interface PolicyContext {
  /** Row-major [users, dim]: each context user's vector from its history before the held-out period. */
  userEmbeddings: Float32Array;
  /** user row → item rows of its history (its seen items, the neighbour seeds, what similar users vote with). */
  seen: Map<number, Set<number>>;
  /** user row → held-out item rows. */
  positives: Map<number, Set<number>>;
}

export interface PolicyModel {
  itemIds: readonly string[];
  /** Row-major [items, dim]. */
  itemEmbeddings: Float32Array;
  dim: number;
  /** Training interactions per item row (popularity). */
  itemPopularity: Float64Array;
  /** Absent: the neighbour source is off. */
  neighbours?: ItemNeighbours | undefined;
  similarUsers: number;
}

/** The top-K rows of an item × item model (EASE or item-kNN fitted on the training interactions). */
export function neighboursOf(model: ItemToItemModel, itemIds: readonly string[], k: number, method: string): ItemNeighboursFile {
  if (model.itemCount !== itemIds.length) throw new RangeError(`neighboursOf: ${model.itemCount} model items for ${itemIds.length} item ids`);
  const n = model.itemCount;
  return itemNeighboursFromRows(itemIds, (row) => model.weights.subarray(row * n, (row + 1) * n), { k, method });
}

/** The policy's sources over one context: exact indexes of its users and of the items, as serving has them. */
export async function contextSources(model: PolicyModel, context: PolicyContext): Promise<PolicySources & { userIdOf: (row: number) => string }> {
  const { dim } = model;
  const userCount = context.userEmbeddings.length / dim;
  const userIdOf = (row: number) => `u${row}`;
  const userIds = Array.from({ length: userCount }, (_, row) => userIdOf(row));
  const items = new ExactIndex({ version: { model: "offline", version: "0", entity: "items" }, dim, initialCapacity: model.itemIds.length });
  const users = new ExactIndex({ version: { model: "offline", version: "0", entity: "users" }, dim, initialCapacity: userCount });
  const rows = (matrix: Float32Array, count: number) => Array.from({ length: count }, (_, r) => matrix.subarray(r * dim, (r + 1) * dim));
  const ref = { model: "offline", version: "0" };
  await items.upsert({ version: ref, ids: [...model.itemIds], vectors: rows(model.itemEmbeddings, model.itemIds.length) });
  await users.upsert({ version: ref, ids: userIds, vectors: rows(context.userEmbeddings, userCount) });
  const rowOfItem = new Map(model.itemIds.map((id, row) => [id, row]));
  const top = Math.max(1, ...model.itemPopularity);
  const popular: ScoredId[] = [...model.itemIds.keys()]
    .map((row) => ({ id: model.itemIds[row]!, score: model.itemPopularity[row]! / top }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const search = async (index: ExactIndex, vector: Float32Array, k: number, excludeIds: readonly string[]) => {
    const found = await index.search({ version: ref, vectors: [vector] }, Math.max(1, Math.min(MAX_K, k)), { excludeIds });
    return found.hits[0]!.map((h) => ({ id: h.id, score: h.score }));
  };
  const historyIds = new Map<string, string[]>();
  for (const [row, seen] of context.seen) historyIds.set(userIdOf(row), [...seen].map((i) => model.itemIds[i]!));
  return {
    nearestItems: (vector, k, excludeIds) => search(items, vector, k, excludeIds),
    nearestUsers: (vector, k, excludeIds) => search(users, vector, k, excludeIds),
    itemsOfUser: (userId) => historyIds.get(userId),
    itemVector: (itemId) => {
      const row = rowOfItem.get(itemId);
      return row === undefined ? undefined : model.itemEmbeddings.subarray(row * dim, (row + 1) * dim);
    },
    neighbours: model.neighbours,
    popular,
    popularityOf: (itemId) => {
      const row = rowOfItem.get(itemId);
      return row === undefined ? 0 : model.itemPopularity[row]! / top;
    },
    userIdOf,
  };
}

/** Users with a held-out item outside their history: the ones every policy is scored on. */
function scoredUsers(context: PolicyContext): number[] {
  const users: number[] = [];
  for (const [user, positives] of context.positives) {
    const seen = context.seen.get(user);
    for (const item of positives) {
      if (!seen?.has(item)) {
        users.push(user);
        break;
      }
    }
  }
  return users;
}

/**
 * The served policy with `weights` on one context, through recommendItems (what RecommendItems answers);
 * `onUser` receives each scored user's values (for paired intervals against the other rankers).
 */
export async function evaluateServedPolicy(model: PolicyModel, context: PolicyContext, weights: PolicyWeights, onUser?: UserHitsListener): Promise<RetrievalMetrics> {
  const sources = await contextSources(model, context);
  const rowOfItem = new Map(model.itemIds.map((id, row) => [id, row]));
  const { dim } = model;
  const tops = new Map<number, number[]>();
  for (const user of scoredUsers(context)) {
    const history = [...(context.seen.get(user) ?? [])].map((i) => model.itemIds[i]!);
    const items = await recommendItems(
      sources,
      { vector: context.userEmbeddings.subarray(user * dim, (user + 1) * dim), indexedId: sources.userIdOf(user), history },
      { k: METRICS_K, excluded: new Set(history), similarUsers: model.similarUsers },
      weights,
    );
    tops.set(user, items.map((i) => rowOfItem.get(i.itemId)!));
  }
  return rankAndScore(context.positives, context.seen, model.itemIds.length, (users) => users.map((u) => tops.get(u)!), onUser);
}

export interface FittedPolicyWeights {
  weights: PolicyWeights;
  /** The chosen weights' validation metrics. */
  validation: RetrievalMetrics;
  /** Weight combinations compared. */
  compared: number;
  /** Validation recall@10 of each source alone, for the report. */
  single: Record<keyof PolicyWeights, number>;
}

/** Weights on the simplex with this step (Σ = 1; a common scale changes no ranking). */
export function weightGrid(step: number, sources: readonly (keyof PolicyWeights)[] = POLICY_SOURCES): PolicyWeights[] {
  const steps = Math.round(1 / step);
  const grid: PolicyWeights[] = [];
  const walk = (at: number, left: number, acc: number[]) => {
    if (at === sources.length - 1) {
      const w = [...acc, left];
      grid.push(Object.fromEntries(POLICY_SOURCES.map((s) => [s, 0])) as PolicyWeights);
      sources.forEach((s, i) => {
        grid[grid.length - 1]![s] = w[i]! / steps;
      });
      return;
    }
    for (let n = 0; n <= left; n++) walk(at + 1, left - n, [...acc, n]);
  };
  walk(0, steps, []);
  return grid;
}

/**
 * Fits the blend weights on validation: every validation user's candidates are gathered once (every source
 * on, so each combination ranks the same pool), then each combination on the grid is
 * blended (topOfPool: the policy's Σ weight · score and order) and scored; the best recall@10 wins (ties: the earlier on the grid).
 */
export async function fitPolicyWeights(model: PolicyModel, validation: PolicyContext, options: { step?: number } = {}): Promise<FittedPolicyWeights> {
  const sources = await contextSources(model, validation);
  const all: PolicyWeights = { retrieval: 1, similarUsers: 1, neighbours: model.neighbours ? 1 : 0, popularity: 1 };
  const rowOfItem = new Map(model.itemIds.map((id, row) => [id, row]));
  const { dim } = model;
  const users = scoredUsers(validation);
  const pools = new Map<number, Pool>();
  for (const user of users) {
    const history = [...(validation.seen.get(user) ?? [])].map((i) => model.itemIds[i]!);
    const excluded = new Set(history);
    const request = { k: METRICS_K, excluded, similarUsers: model.similarUsers };
    const vector = validation.userEmbeddings.subarray(user * dim, (user + 1) * dim);
    pools.set(user, poolOf(await gatherCandidates(sources, { vector, indexedId: sources.userIdOf(user), history }, request, all), excluded));
  }
  const score = (weights: PolicyWeights): RetrievalMetrics =>
    rankAndScore(validation.positives, validation.seen, model.itemIds.length, (scored) =>
      scored.map((user) => {
        const pool = pools.get(user)!;
        const items = fillWithPopular(topOfPool(pool, weights, METRICS_K), sources.popular, { k: METRICS_K, excluded: pool.excluded });
        return items.map((i) => rowOfItem.get(i.itemId)!);
      }),
    );
  const active = POLICY_SOURCES.filter((s) => all[s] > 0);
  const grid = weightGrid(options.step ?? 0.1, active);
  // The grid is over sources brought to one scale: a model's dot products may span tens (unnormalised towers)
  // while votes, neighbour sums and popularity span 0..1, so a simplex step of 0.1 would be far too coarse for
  // one and too fine for the others. The stored weights carry the scale, so serving blends raw scores.
  const scale = sourceScales([...pools.values()]);
  let best: { weights: PolicyWeights; metrics: RetrievalMetrics } | undefined;
  for (const unit of grid) {
    const weights = Object.fromEntries(POLICY_SOURCES.map((s) => [s, unit[s] * scale[s]])) as PolicyWeights;
    const metrics = score(weights);
    if (!best || metrics["recall@10"] > best.metrics["recall@10"]) best = { weights, metrics };
  }
  const single = Object.fromEntries(
    POLICY_SOURCES.map((s) => [s, all[s] > 0 ? score({ retrieval: 0, similarUsers: 0, neighbours: 0, popularity: 0, [s]: 1 })["recall@10"] : 0]),
  ) as Record<keyof PolicyWeights, number>;
  return { weights: best!.weights, validation: best!.metrics, compared: grid.length, single };
}

/** 1 / the mean spread (max − min over a user's candidates) of each source: what brings them to one scale. */
function sourceScales(pools: readonly Pool[]): PolicyWeights {
  return Object.fromEntries(
    POLICY_SOURCES.map((s) => {
      let sum = 0;
      let users = 0;
      for (const pool of pools) {
        const column = pool.columns[s];
        if (column.length === 0) continue;
        let min = Number.POSITIVE_INFINITY;
        let max = Number.NEGATIVE_INFINITY;
        for (const v of column) {
          if (v < min) min = v;
          if (v > max) max = v;
        }
        sum += max - min;
        users++;
      }
      const spread = users === 0 ? 0 : sum / users;
      // Rounded so served-policy.json stays readable; a source with no spread keeps scale 1.
      return [s, spread > 0 ? Number((1 / spread).toPrecision(4)) : 1];
    }),
  ) as PolicyWeights;
}

/** A user's gathered candidates as columns, so hundreds of weight combinations re-blend them cheaply. */
interface Pool {
  candidates: Candidate[];
  excluded: Set<string>;
  columns: Record<keyof PolicyWeights, Float64Array>;
}

function poolOf(candidates: Candidate[], excluded: Set<string>): Pool {
  // Sorted by id once, so a strict ">" below keeps blendCandidates' tie rule (equal scores: smaller id first).
  candidates.sort((a, b) => (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0));
  const column = (s: keyof PolicyWeights) => Float64Array.from(candidates, (c) => c[s]);
  return {
    candidates,
    excluded,
    columns: { retrieval: column("retrieval"), similarUsers: column("similarUsers"), neighbours: column("neighbours"), popularity: column("popularity") },
  };
}

/**
 * The k best of a pool by the blend: the same Σ weight · score and order as blendCandidates (which serving
 * and evaluateServedPolicy use; a test holds the two equal), by selection instead of a full sort.
 */
export function topOfPool(pool: Pool, weights: PolicyWeights, k: number): RecommendedItem[] {
  const { retrieval: r, similarUsers: s, neighbours: n, popularity: p } = pool.columns;
  const top: { at: number; score: number }[] = [];
  for (let at = 0; at < r.length; at++) {
    const score = weights.retrieval * r[at]! + weights.similarUsers * s[at]! + weights.neighbours * n[at]! + weights.popularity * p[at]!;
    if (top.length === k && !(score > top[k - 1]!.score)) continue;
    let i = top.length === k ? k - 1 : top.length;
    if (top.length === k) top.pop();
    while (i > 0 && top[i - 1]!.score < score) i--;
    top.splice(i, 0, { at, score });
  }
  return top.map(({ at, score }) => ({ itemId: pool.candidates[at]!.itemId, score, source: "hybrid" as const }));
}

export { poolOf };

/** Item × item models fitted on some interactions (the baselines'), and their labels. */
export interface ItemToItemFits {
  ease: ItemToItemModel;
  itemKnn: ItemToItemModel;
  labels: { ease: string; itemKnn: string };
}

/**
 * The policy's view of one model and one set of fitted baselines: the item vectors, the popularity and the
 * neighbour list (the chosen baseline's rows cut to their top K), all fitted on the same interactions.
 */
export function servedPolicyModel(args: {
  itemIds: readonly string[];
  itemEmbeddings: Float32Array;
  dim: number;
  itemPopularity: Float64Array;
  fits: ItemToItemFits;
  method: NeighbourMethod;
  neighboursK: number;
}): PolicyModel & { neighboursFile: ItemNeighboursFile | undefined } {
  const { fits, method } = args;
  const neighboursFile =
    method === "none" ? undefined : neighboursOf(method === "ease" ? fits.ease : fits.itemKnn, args.itemIds, args.neighboursK, method === "ease" ? fits.labels.ease : fits.labels.itemKnn);
  return {
    itemIds: args.itemIds,
    itemEmbeddings: args.itemEmbeddings,
    dim: args.dim,
    itemPopularity: args.itemPopularity,
    neighbours: neighboursFile ? new ItemNeighbours(neighboursFile) : undefined,
    neighboursFile,
    similarUsers: DEFAULT_SIMILAR_USERS,
  };
}
