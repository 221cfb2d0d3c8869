// The recommendation policy RecommendItems serves, over any top-k search: the Recommendation service runs it
// on a leased version's indexes, and training runs the very same functions on exact in-process indexes of the
// held-out users to evaluate what is served (metrics.json `served`) and to fit its weights on validation.
//
// Candidates come from four sources: the nearest items to the user vector (retrieval), the items of the most
// similar users (votes weighted by similarity), the neighbours of the user's items (item-neighbours.json) and
// the most popular items. Every candidate is then scored by every source (exact dot product with the user
// vector, its vote, its neighbour sum, its popularity), so a weight means the same for every candidate, and
// the blend is Σ weight · score. Seen and excluded items never enter; a user with neither vector nor history
// (cold start), and any shortfall, gets the most popular items.
import type { ItemNeighbours } from "./item-neighbours.js";
import type { PolicyWeights } from "./policy-weights.js";

export type ItemSource = "item_retrieval" | "similar_users" | "item_neighbours" | "popularity" | "hybrid";

export interface RecommendedItem {
  itemId: string;
  score: number;
  source: ItemSource;
}

export interface ScoredId {
  id: string;
  score: number;
}

/** What the policy reads of one version: its indexes, the training histories, neighbours and popularity. */
export interface PolicySources {
  /** The k nearest items to `vector` (inner product), none of `excludeIds`. */
  nearestItems(vector: Float32Array, k: number, excludeIds: readonly string[]): Promise<ScoredId[]>;
  /** The k nearest users to `vector`, none of `excludeIds`. */
  nearestUsers(vector: Float32Array, k: number, excludeIds: readonly string[]): Promise<ScoredId[]>;
  /** A user's items (what similar users vote with); undefined for a user without statistics. */
  itemsOfUser(userId: string): readonly string[] | undefined;
  /** An item's vector (to score candidates of other sources by retrieval); undefined outside the catalogue. */
  itemVector(itemId: string): Float32Array | undefined;
  /** Absent in versions trained before item-neighbours.json existed. */
  neighbours?: ItemNeighbours | undefined;
  /** Items by popularity, most popular first, scores scaled so the top one is 1 (may depend on the device). */
  popular: readonly ScoredId[];
  /** An item's score in `popular` (0 when absent). */
  popularityOf(itemId: string): number;
}

export interface PolicyUser {
  /** The user's vector; undefined: no vector (cold start, unless there is a history). */
  vector?: Float32Array | undefined;
  /** The user's own row in the user index (not its own similar user). */
  indexedId?: string | undefined;
  /** The user's items: seeds of the neighbour source (and excluded). */
  history: readonly string[];
}

export interface PolicyRequest {
  k: number;
  /** Seen, excluded and recent items: never recommended. */
  excluded: ReadonlySet<string>;
  /** Similar users whose items are candidates. */
  similarUsers: number;
}

/** One candidate's score from each source (0 where a source gives it nothing) and the lists it came from. */
export interface Candidate {
  itemId: string;
  retrieval: number;
  similarUsers: number;
  neighbours: number;
  popularity: number;
  /** Bit set of the sources whose candidate list held the item (FROM_*). */
  from: number;
}

const FROM_RETRIEVAL = 1;
const FROM_SIMILAR = 2;
const FROM_NEIGHBOURS = 4;
const FROM_POPULARITY = 8;

/** Candidates each of retrieval and popularity contributes beyond k (deeper lists give the blend more to reorder). */
export function candidateDepth(k: number): number {
  return Math.max(3 * k, 50);
}

/**
 * Every candidate of the sources with a positive weight, scored by every source. Empty for cold start (no
 * vector and no history): the caller fills with popularity.
 */
export async function gatherCandidates(sources: PolicySources, user: PolicyUser, request: PolicyRequest, weights: PolicyWeights): Promise<Candidate[]> {
  const { excluded } = request;
  const pool = new Map<string, Candidate>();
  const add = (itemId: string, from: number): Candidate => {
    let c = pool.get(itemId);
    if (!c) {
      c = { itemId, retrieval: 0, similarUsers: 0, neighbours: 0, popularity: 0, from: 0 };
      pool.set(itemId, c);
    }
    c.from |= from;
    return c;
  };
  const depth = candidateDepth(request.k);
  const personal = user.vector !== undefined || user.history.length > 0;
  if (!personal) return [];
  const vector = user.vector;
  if (vector && weights.retrieval > 0) {
    for (const hit of await sources.nearestItems(vector, depth + excluded.size, [...excluded])) add(hit.id, FROM_RETRIEVAL).retrieval = hit.score;
  }
  if (vector && weights.similarUsers > 0) {
    const votes = new Map<string, number>();
    const similar = await sources.nearestUsers(vector, request.similarUsers, user.indexedId ? [user.indexedId] : []);
    for (const hit of similar) {
      const weight = Math.max(0, hit.score);
      for (const itemId of sources.itemsOfUser(hit.id) ?? []) if (!excluded.has(itemId)) votes.set(itemId, (votes.get(itemId) ?? 0) + weight);
    }
    const top = Math.max(0, ...votes.values());
    if (top > 0) for (const [itemId, v] of votes) add(itemId, FROM_SIMILAR).similarUsers = v / top;
  }
  const neighbours = sources.neighbours;
  if (neighbours && weights.neighbours > 0 && user.history.length > 0) {
    const sums = new Map<string, number>();
    for (const seed of user.history) {
      neighbours.forEachNeighbour(seed, (id, w) => {
        if (!excluded.has(id)) sums.set(id, (sums.get(id) ?? 0) + w);
      });
    }
    const top = Math.max(0, ...sums.values());
    if (top > 0) for (const [itemId, s] of sums) add(itemId, FROM_NEIGHBOURS).neighbours = s / top;
  }
  if (weights.popularity > 0) {
    let taken = 0;
    for (const item of sources.popular) {
      if (taken >= depth) break;
      if (excluded.has(item.id)) continue;
      add(item.id, FROM_POPULARITY);
      taken++;
    }
  }
  // Each candidate scored by every source, not only by the ones that listed it.
  for (const c of pool.values()) {
    if (vector && !(c.from & FROM_RETRIEVAL)) {
      const v = sources.itemVector(c.itemId);
      if (v) c.retrieval = dot(vector, v);
    }
    c.popularity = sources.popularityOf(c.itemId);
  }
  return [...pool.values()];
}

/** The blend Σ weight · score of each candidate (times its context boost), best first. */
export function blendCandidates(candidates: readonly Candidate[], weights: PolicyWeights, boost?: (itemId: string) => number): RecommendedItem[] {
  const items = candidates.map((c) => {
    const score = weights.retrieval * c.retrieval + weights.similarUsers * c.similarUsers + weights.neighbours * c.neighbours + weights.popularity * c.popularity;
    return { itemId: c.itemId, score: boost ? score * boost(c.itemId) : score, source: sourceOf(c.from) };
  });
  return items.sort(byScore);
}

/** The top k: blended candidates, then the most popular unseen items for cold start or a shortfall. */
export async function recommendItems(
  sources: PolicySources,
  user: PolicyUser,
  request: PolicyRequest,
  weights: PolicyWeights,
  boost?: (itemId: string) => number,
): Promise<RecommendedItem[]> {
  const blended = blendCandidates(await gatherCandidates(sources, user, request, weights), weights, boost);
  return fillWithPopular(blended.slice(0, request.k), sources.popular, request);
}

/** Appends the most popular items not yet listed nor excluded until there are k. */
export function fillWithPopular(items: RecommendedItem[], popular: readonly ScoredId[], request: Pick<PolicyRequest, "k" | "excluded">): RecommendedItem[] {
  if (items.length >= request.k) return items;
  const taken = new Set(items.map((i) => i.itemId));
  for (const item of popular) {
    if (items.length >= request.k) break;
    if (request.excluded.has(item.id) || taken.has(item.id)) continue;
    items.push({ itemId: item.id, score: item.score, source: "popularity" });
  }
  return items;
}

function sourceOf(from: number): ItemSource {
  switch (from) {
    case FROM_RETRIEVAL:
      return "item_retrieval";
    case FROM_SIMILAR:
      return "similar_users";
    case FROM_NEIGHBOURS:
      return "item_neighbours";
    case FROM_POPULARITY:
      return "popularity";
    default:
      return "hybrid";
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let d = 0; d < a.length; d++) s += a[d]! * b[d]!;
  return s;
}

export function byScore(a: RecommendedItem, b: RecommendedItem): number {
  return b.score - a.score || (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0);
}
