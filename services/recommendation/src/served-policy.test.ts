// The policy RecommendItems serves (@funnel/two-tower served-policy), on the in-process exact index the service
// uses below --recommendation-exact-below: blend arithmetic, exclusions, cold start and the shortfall fill.
import {
  ITEM_NEIGHBOURS_FORMAT,
  type PolicySources,
  type PolicyWeights,
  parseItemNeighbours,
  type RecommendedItem,
  recommendItems,
  type ScoredId,
} from "@funnel/two-tower";
import { ExactIndex } from "@funnel/vector-index";
import { beforeAll, describe, expect, it } from "vitest";

const DIM = 3;
const REF = { model: "m", version: "1" };
const ITEMS: Record<string, number[]> = {
  a: [1, 0, 0],
  b: [0.8, 0.6, 0],
  c: [0, 1, 0],
  d: [0, 0.6, 0.8],
  e: [0, 0, 1],
  f: [-1, 0, 0],
};
const USERS: Record<string, { vector: number[]; items: string[] }> = {
  alice: { vector: [1, 0, 0], items: ["a"] },
  bob: { vector: [0.9, 0.1, 0], items: ["a", "c", "e"] },
  carol: { vector: [0.6, 0.8, 0], items: ["c", "d"] },
  dave: { vector: [-1, 0, 0], items: ["f"] },
};
// a's neighbours: e (2), d (1); c's: d (3).
const NEIGHBOURS = parseItemNeighbours({
  format: ITEM_NEIGHBOURS_FORMAT,
  method: "test",
  k: 2,
  items: Object.keys(ITEMS),
  offsets: [0, 2, 2, 3, 3, 3, 3],
  neighbours: [4, 3, 3],
  weights: [2, 1, 3],
});
// Counts: c 40, a 30, e 20, d 10, b 5, f 1.
const COUNTS: Record<string, number> = { c: 40, a: 30, e: 20, d: 10, b: 5, f: 1 };

let sources: PolicySources;

beforeAll(async () => {
  const items = new ExactIndex({ version: { ...REF, entity: "items" }, dim: DIM });
  const users = new ExactIndex({ version: { ...REF, entity: "users" }, dim: DIM });
  await items.upsert({ version: REF, ids: Object.keys(ITEMS), vectors: Object.values(ITEMS).map((v) => Float32Array.from(v)) });
  await users.upsert({ version: REF, ids: Object.keys(USERS), vectors: Object.values(USERS).map((u) => Float32Array.from(u.vector)) });
  const search = async (index: ExactIndex, vector: Float32Array, k: number, excludeIds: readonly string[]) =>
    (await index.search({ version: REF, vectors: [vector] }, k, { excludeIds })).hits[0]!.map((h) => ({ id: h.id, score: h.score }));
  const popular: ScoredId[] = Object.entries(COUNTS)
    .map(([id, n]) => ({ id, score: n / 40 }))
    .sort((x, y) => y.score - x.score);
  sources = {
    nearestItems: (v, k, ex) => search(items, v, k, ex),
    nearestUsers: (v, k, ex) => search(users, v, k, ex),
    itemsOfUser: (id) => USERS[id]?.items,
    itemVector: (id) => (ITEMS[id] ? Float32Array.from(ITEMS[id]) : undefined),
    neighbours: NEIGHBOURS,
    popular,
    popularityOf: (id) => (COUNTS[id] ?? 0) / 40,
  };
});

const W = (w: Partial<PolicyWeights>): PolicyWeights => ({ retrieval: 0, similarUsers: 0, neighbours: 0, popularity: 0, ...w });
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const byId = (items: RecommendedItem[]) => new Map(items.map((i) => [i.itemId, i]));

describe("served policy on the exact index", () => {
  it("scores every candidate by every source: Σ weight · (dot, similar-user vote, neighbour sum, popularity), each scaled to its top", async () => {
    const weights = W({ retrieval: 0.4, similarUsers: 0.2, neighbours: 0.3, popularity: 0.1 });
    const user = { vector: Float32Array.from(USERS.alice!.vector), indexedId: "alice", history: ["a"] };
    const items = await recommendItems(sources, user, { k: 10, excluded: new Set(["a"]), similarUsers: 2 }, weights);
    // Alice's two nearest users: bob (0.9) and carol (0.6); their unseen items: c 0.9 + 0.6, e 0.9, d 0.6 → / 1.5.
    const vote: Record<string, number> = { c: 1.5 / 1.5, e: 0.9 / 1.5, d: 0.6 / 1.5 };
    // Neighbours of a: e 2, d 1 → / 2.
    const neighbour: Record<string, number> = { e: 1, d: 0.5 };
    const got = byId(items);
    expect([...got.keys()].sort()).toEqual(["b", "c", "d", "e", "f"]);
    for (const [id, item] of got) {
      const expected = 0.4 * dot(USERS.alice!.vector, ITEMS[id]!) + 0.2 * (vote[id] ?? 0) + 0.3 * (neighbour[id] ?? 0) + 0.1 * (COUNTS[id]! / 40);
      expect(item.score).toBeCloseTo(expected, 6);
    }
    const scores = items.map((i) => i.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    // e and d are listed by retrieval, similar users and neighbours: hybrid; b and f only by retrieval and popularity.
    expect(got.get("e")!.source).toBe("hybrid");
  });

  it("labels an item by the one source that listed it", async () => {
    const user = { vector: Float32Array.from(USERS.alice!.vector), indexedId: "alice", history: ["a"] };
    const only = await recommendItems(sources, user, { k: 2, excluded: new Set(["a"]), similarUsers: 2 }, W({ neighbours: 1 }));
    expect(only.map((i) => [i.itemId, i.source, i.score])).toEqual([
      ["e", "item_neighbours", 1],
      ["d", "item_neighbours", 0.5],
    ]);
  });

  it("never returns excluded or seen items, whichever source would rank them first", async () => {
    const user = { vector: Float32Array.from(USERS.alice!.vector), indexedId: "alice", history: ["a"] };
    const excluded = new Set(["a", "b", "e", "c"]);
    const items = await recommendItems(sources, user, { k: 6, excluded, similarUsers: 3 }, W({ retrieval: 0.25, similarUsers: 0.25, neighbours: 0.25, popularity: 0.25 }));
    const ids = items.map((i) => i.itemId);
    for (const id of excluded) expect(ids).not.toContain(id);
    expect(ids.sort()).toEqual(["d", "f"]);
  });

  it("a weight of 0 switches its source off: no neighbour-only candidates, no neighbour score", async () => {
    const user = { vector: Float32Array.from(USERS.dave!.vector), indexedId: "dave", history: ["a"] };
    const items = await recommendItems(sources, user, { k: 3, excluded: new Set(["a"]), similarUsers: 1 }, W({ retrieval: 1 }));
    expect(items.every((i) => i.source === "item_retrieval")).toBe(true);
    // f is nearest; c, d and e tie at 0 and go by id.
    expect(items.map((i) => i.itemId)).toEqual(["f", "c", "d"]);
    for (const item of items) expect(item.score).toBeCloseTo(dot(USERS.dave!.vector, ITEMS[item.itemId]!), 6);
  });

  it("cold start (no vector, no history): the most popular unseen items, in order", async () => {
    const items = await recommendItems(sources, { history: [] }, { k: 3, excluded: new Set(["c"]), similarUsers: 30 }, W({ retrieval: 0.5, neighbours: 0.5 }));
    expect(items).toEqual([
      { itemId: "a", score: 30 / 40, source: "popularity" },
      { itemId: "e", score: 20 / 40, source: "popularity" },
      { itemId: "d", score: 10 / 40, source: "popularity" },
    ]);
  });

  it("fills a shortfall with popularity after the blended candidates", async () => {
    const user = { vector: Float32Array.from(USERS.alice!.vector), indexedId: "alice", history: ["a"] };
    const items = await recommendItems(sources, user, { k: 4, excluded: new Set(["a"]), similarUsers: 2 }, W({ neighbours: 1 }));
    expect(items.map((i) => [i.itemId, i.source])).toEqual([
      ["e", "item_neighbours"],
      ["d", "item_neighbours"],
      ["c", "popularity"],
      ["b", "popularity"],
    ]);
  });
});
