// End to end: a version trained with an item-neighbour list (item-neighbours.json) serves those neighbours over
// real gRPC, with the blend weights of its served-policy.json; ListModels shows the version's offline figures
// (the served policy beside the bare two-tower and the baselines) exactly as training wrote them.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  type ListModelsResponse,
  ModelStatusServiceClient,
  RecommendationServiceClient,
  RecommendationSource,
  type RecommendItemsRequest,
  type RecommendItemsResponse,
} from "@funnel/proto";
import { FileRegistry, type ModelManifest, writeModelDirectoryManifest } from "@funnel/registry";
import { type RunningServices, runServices } from "@funnel/runtime";
import { tinyModelDataset, trainTinyModelDirectory } from "@funnel/training/testing";
import { type InteractionStats, type ItemNeighboursFile, MODEL_FILES, OPTIONAL_MODEL_FILES, pseudonymiseUserId } from "@funnel/two-tower";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recommendationModule } from "./recommendation-module.js";

const SALT = "neighbours-e2e-salt";
const MODEL = "two-tower";

let root: string;
let running: RunningServices;
let client: RecommendationServiceClient;
let status: ModelStatusServiceClient;
let neighbours: ItemNeighboursFile;
let stats: InteractionStats;
let metrics: { split: string; served: { test: Record<string, number> }; test: Record<string, number>; baselines: Record<string, Record<string, number>> };
let knownUserId: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "recommendation-neighbours-e2e-"));
  const registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "test" });
  knownUserId = tinyModelDataset({}).events[0]!.userId;
  const dir = path.join(root, "model");
  await trainTinyModelDirectory(dir, { seed: 1, salt: SALT });
  const read = async (file: string) => JSON.parse(await readFile(path.join(dir, file), "utf8"));
  neighbours = await read(OPTIONAL_MODEL_FILES.itemNeighbours);
  stats = await read(OPTIONAL_MODEL_FILES.interactionStats);
  metrics = await read(MODEL_FILES.metrics);
  // Neighbours alone, so every personal candidate comes from the list and its score is checkable.
  await writeFile(path.join(dir, OPTIONAL_MODEL_FILES.servedPolicy), JSON.stringify({ format: 1, weights: { retrieval: 0, similarUsers: 0, neighbours: 1, popularity: 0 }, fittedOn: "test" }));
  const manifest = (await read("manifest.json")) as ModelManifest;
  await writeModelDirectoryManifest(dir, { name: manifest.name, kind: manifest.kind, metrics: manifest.metrics, params: manifest.params, lineage: manifest.lineage });
  await registry.setAlias(MODEL, "production", (await registry.register(dir)).version);
  running = await runServices([recommendationModule], {
    env: { FUNNEL_PSEUDONYM_SALT: SALT },
    argv: ["--port", "0", "--metrics-port", "-1", "--log-level", "silent", "--model-cache-dir", path.join(root, "cache"), "--model-poll-ms", "0"],
    modelSource: registry,
  });
  client = new RecommendationServiceClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
  status = new ModelStatusServiceClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
}, 180_000);

afterAll(async () => {
  client?.close();
  status?.close();
  await running?.shutdown();
  await rm(root, { recursive: true, force: true });
});

const recommend = (request: Partial<RecommendItemsRequest>) =>
  new Promise<RecommendItemsResponse>((resolve, reject) =>
    client.recommendItems({ userId: "", topK: 0, excludeItemIds: [], ...request }, (e, r) => (e ? reject(e) : resolve(r!))),
  );

describe("a version with item neighbours", () => {
  it("was trained with a top-K neighbour list and fitted blend weights", () => {
    expect(neighbours.k).toBe(50);
    expect(neighbours.offsets).toHaveLength(neighbours.items.length + 1);
    expect(neighbours.neighbours.length).toBeGreaterThan(0);
    expect(neighbours.neighbours.length).toBeLessThanOrEqual(neighbours.items.length * neighbours.k);
    expect(metrics.served.test["recall@10"]).toBeGreaterThan(0);
    expect(metrics.served.test.users).toBe(metrics.test.users);
  });

  it("serves the neighbours of the user's items, summed over its history, without seen or excluded items", async () => {
    const history = stats.users[pseudonymiseUserId(knownUserId, SALT)]!.items;
    const sums = new Map<string, number>();
    for (const seed of history) {
      const row = neighbours.items.indexOf(seed);
      for (let at = neighbours.offsets[row]!; at < neighbours.offsets[row + 1]!; at++) {
        const id = neighbours.items[neighbours.neighbours[at]!]!;
        if (!history.includes(id)) sums.set(id, (sums.get(id) ?? 0) + neighbours.weights[at]!);
      }
    }
    const top = Math.max(...sums.values());
    const expected = [...sums].map(([id, s]) => ({ id, score: s / top })).sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
    const exclude = expected[0]!.id;
    const r = await recommend({ userId: knownUserId, topK: 5, excludeItemIds: [exclude] });
    expect(r.items.map((i) => i.itemId)).not.toContain(exclude);
    const rest = expected.slice(1);
    const restTop = rest[0]!.score;
    expect(r.items.map((i) => i.itemId)).toEqual(rest.slice(0, 5).map((e) => e.id));
    for (const [i, item] of r.items.entries()) {
      expect(item.source).toBe(RecommendationSource.RECOMMENDATION_SOURCE_ITEM_NEIGHBOURS);
      // The excluded item is out before scaling: the best remaining neighbour scores 1.
      expect(item.score).toBeCloseTo(rest[i]!.score / restTop, 5);
    }
  });

  it("lists the version's offline figures in ListModels: the served policy beside the two-tower and each baseline", async () => {
    const listed = await new Promise<ListModelsResponse>((resolve, reject) => status.listModels({}, (e, r) => (e ? reject(e) : resolve(r!))));
    const slot = listed.models.find((m) => m.name === MODEL)!;
    expect(slot.version).toBe("1");
    const figures = new Map(slot.offlineEvaluation.map((f) => [f.policy, f]));
    expect([...figures.keys()]).toEqual(["served", "two-tower", "popularity", "itemKnn", "ease"]);
    const expected = { served: metrics.served.test, "two-tower": metrics.test, ...metrics.baselines };
    for (const [policy, m] of Object.entries(expected)) {
      expect(figures.get(policy)).toEqual({ policy, split: metrics.split, recallAt10: m["recall@10"], ndcgAt10: m["ndcg@10"], usersScored: m.users });
    }
  });
});
