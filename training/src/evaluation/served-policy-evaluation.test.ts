import { blendCandidates, type Candidate, ItemNeighbours, POLICY_SOURCES, type PolicyWeights } from "@funnel/two-tower";
import { describe, expect, it } from "vitest";
import { createSeededRandom } from "../data/seeded-random.js";

const seededRandom = (seed: number) => {
  const r = createSeededRandom(seed);
  return () => r.next();
};

import { collectPerUser } from "./per-user-metrics.js";
import { evaluateRetrieval } from "./retrieval-metrics.js";
import { evaluateServedPolicy, fitPolicyWeights, neighboursOf, poolOf, topOfPool, weightGrid } from "./served-policy-evaluation.js";

const DIM = 8;

/** Random unit vectors, row-major. */
function unitRows(count: number, random: () => number): Float32Array {
  const out = new Float32Array(count * DIM);
  for (let r = 0; r < count; r++) {
    let norm = 0;
    for (let d = 0; d < DIM; d++) {
      const x = random() * 2 - 1;
      out[r * DIM + d] = x;
      norm += x * x;
    }
    for (let d = 0; d < DIM; d++) out[r * DIM + d]! /= Math.sqrt(norm);
  }
  return out;
}

/**
 * Users whose held-out item is the "partner" of one of their history items (items come in pairs 2i, 2i + 1):
 * an item-to-item structure the neighbour source can learn and random vectors cannot.
 */
function pairedContext(users: number, items: number, random: () => number) {
  const seen = new Map<number, Set<number>>();
  const positives = new Map<number, Set<number>>();
  for (let u = 0; u < users; u++) {
    const history = new Set<number>();
    while (history.size < 3) history.add(Math.floor(random() * items));
    const anchor = [...history][0]!;
    const partner = anchor ^ 1;
    history.delete(partner);
    seen.set(u, history);
    positives.set(u, new Set([partner]));
  }
  return { userEmbeddings: unitRows(users, random), seen, positives };
}

describe("served policy evaluation", () => {
  it("with retrieval alone scores exactly what the bare two-tower's exact retrieval scores", async () => {
    const random = seededRandom(3);
    const items = 40;
    const itemIds = Array.from({ length: items }, (_, i) => `item-${String(i).padStart(2, "0")}`);
    const context = pairedContext(60, items, random);
    const itemEmbeddings = unitRows(items, random);
    const model = { itemIds, itemEmbeddings, dim: DIM, itemPopularity: new Float64Array(items).fill(1), similarUsers: 5 };
    const servedUsers = collectPerUser();
    const served = await evaluateServedPolicy(model, context, { retrieval: 1, similarUsers: 0, neighbours: 0, popularity: 0 }, servedUsers.onUser);
    const bareUsers = collectPerUser();
    const bare = evaluateRetrieval({ userEmbeddings: context.userEmbeddings, itemEmbeddings, dim: DIM, testPositives: context.positives, trainSeen: context.seen, onUser: bareUsers.onUser });
    expect(served).toEqual(bare);
    // Per-user values too, user by user: what the paired intervals resample.
    expect(servedUsers.perUser).toEqual(bareUsers.perUser);
    expect(servedUsers.perUser.users).toHaveLength(bare.users);
  });

  it("fits weights on validation that use the neighbour source where it carries the signal, and beats retrieval alone on test", async () => {
    const random = seededRandom(11);
    const items = 60;
    const itemIds = Array.from({ length: items }, (_, i) => `i${i}`);
    // Neighbours: each item's partner, as a fitted item-to-item model would find it.
    const weights = new Float32Array(items * items);
    for (let i = 0; i < items; i++) weights[i * items + (i ^ 1)] = 1;
    const neighbours = neighboursOf({ itemCount: items, weights }, itemIds, 5, "pairs");
    const model = { itemIds, itemEmbeddings: unitRows(items, random), dim: DIM, itemPopularity: new Float64Array(items).fill(1), neighbours: new ItemNeighbours(neighbours), similarUsers: 5 };
    const fit = await fitPolicyWeights(model, pairedContext(80, items, random), { step: 0.25 });
    expect(fit.compared).toBe(35);
    expect(fit.weights.neighbours).toBeGreaterThan(0);
    expect(fit.single.neighbours).toBeGreaterThan(fit.single.retrieval);
    const test = pairedContext(80, items, random);
    const served = await evaluateServedPolicy(model, test, fit.weights);
    const retrievalOnly = await evaluateServedPolicy(model, test, { retrieval: 1, similarUsers: 0, neighbours: 0, popularity: 0 });
    expect(served["recall@10"]).toBeGreaterThan(retrievalOnly["recall@10"]);
    expect(served.users).toBe(80);
  });

  it("keeps each item's top-K neighbours by weight, without itself or non-positive weights", () => {
    const w = Float32Array.from([0, 0.5, 0.2, 0.9, 0.3, 0, -1, 0.1, 0.2, 0.2, 0, 0.4, 0, 0, 0, 0]);
    const file = neighboursOf({ itemCount: 4, weights: w }, ["a", "b", "c", "d"], 2, "test");
    expect(file.offsets).toEqual([0, 2, 4, 6, 6]);
    expect(file.neighbours).toEqual([3, 1, 0, 3, 3, 0]);
    expect(file.weights).toEqual([0.9, 0.5, 0.3, 0.1, 0.4, 0.2]);
  });

  it("re-blends a gathered pool exactly as the policy's blendCandidates ranks it", () => {
    const random = seededRandom(5);
    const candidates: Candidate[] = Array.from({ length: 200 }, (_, i) => ({
      itemId: `x${i}`,
      // Coarse values, so ties occur and the tie rule is checked too.
      retrieval: Math.round(random() * 10) / 10,
      similarUsers: Math.round(random() * 4) / 4,
      neighbours: random() < 0.5 ? 0 : Math.round(random() * 4) / 4,
      popularity: Math.round(random() * 10) / 10,
      from: 1,
    }));
    const pool = poolOf([...candidates], new Set());
    for (const weights of weightGrid(0.25)) {
      const expected = blendCandidates(candidates, weights).slice(0, 20);
      const got = topOfPool(pool, weights, 20);
      expect(got.map((i) => i.itemId)).toEqual(expected.map((i) => i.itemId));
    }
  });

  it("spans the weight simplex: every combination sums to 1", () => {
    const grid = weightGrid(0.1);
    expect(grid).toHaveLength(286);
    for (const w of grid) expect(POLICY_SOURCES.reduce((s, k) => s + w[k as keyof PolicyWeights], 0)).toBeCloseTo(1, 12);
    expect(weightGrid(0.5, ["retrieval", "neighbours"])).toEqual([
      { retrieval: 0, similarUsers: 0, neighbours: 1, popularity: 0 },
      { retrieval: 0.5, similarUsers: 0, neighbours: 0.5, popularity: 0 },
      { retrieval: 1, similarUsers: 0, neighbours: 0, popularity: 0 },
    ]);
  });
});
