// End to end: tiny two-tower versions (one with a conversion head, one trained "before" it: file removed) in a
// real file registry, served by the real module on a real gRPC server (port 0), checked against the model
// directory's own vectors, statistics and head; an alias move swaps versions live under concurrent calls.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  ConversionEstimate,
  DeviceType,
  type GuideNextStepRequest,
  type GuideNextStepResponse,
  InteractionType,
  PageType,
  RecommendationServiceClient,
  RecommendationSource,
  type RecommendItemsRequest,
  type RecommendItemsResponse,
  type UserFeatures,
} from "@funnel/proto";
import { FileRegistry, type ModelManifest, writeModelDirectoryManifest } from "@funnel/registry";
import { type RunningServices, runServices } from "@funnel/runtime";
import { checkHealth } from "@funnel/runtime/testing";
import { tinyModelDataset, trainTinyModelDirectory } from "@funnel/training/testing";
import {
  type ConversionHead,
  type InteractionStats,
  MODEL_FILES,
  OPTIONAL_MODEL_FILES,
  parseServedRecommendation,
  predictConversion,
  pseudonymiseUserId,
  readFloat32LittleEndian,
  type ServedRecommendation,
} from "@funnel/two-tower";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { recommendationModule } from "./recommendation-module.js";

const SALT = "e2e-salt";
const MODEL = "two-tower";
const S = RecommendationSource;

const FEATURES: UserFeatures = {
  device: DeviceType.DEVICE_TYPE_DESKTOP,
  sessionCount: 2,
  avgSessionDurationSeconds: 200,
  interactionCount: 9,
  recentInteractions: [{ page: PageType.PAGE_TYPE_SEARCH, interaction: InteractionType.INTERACTION_TYPE_FORM, itemId: "", durationSeconds: 12 }],
};

interface Version {
  stats: InteractionStats;
  head: ConversionHead | undefined;
  userIds: string[];
  users: Float32Array;
  itemIds: string[];
  items: Float32Array;
  dim: number;
}

let root: string;
let registry: FileRegistry;
let running: RunningServices;
let client: RecommendationServiceClient;
const versions = new Map<number, Version>();
let knownUserId: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "recommendation-e2e-"));
  registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "test" });
  knownUserId = tinyModelDataset({}).events[0]!.userId;
  for (const seed of [1, 2]) {
    const dir = path.join(root, `model-${seed}`);
    await trainTinyModelDirectory(dir, { seed, salt: SALT });
    // Version 1 is served with these blend weights (what training fitted is replaced, so the test knows them).
    if (seed === 1) await rewriteFiles(dir, [], { [OPTIONAL_MODEL_FILES.servedPolicy]: { format: 1, weights: V1_WEIGHTS, fittedOn: "test" } });
    // Version 2 stands for a version trained before the conversion head, the item neighbours and fitted blend
    // weights existed: it is served with the configured similar-users weight (0.3).
    if (seed === 2) await rewriteFiles(dir, [OPTIONAL_MODEL_FILES.conversionHead, OPTIONAL_MODEL_FILES.itemNeighbours, OPTIONAL_MODEL_FILES.servedPolicy], {});
    const version = (await registry.register(dir)).version;
    versions.set(version, await readVersion(dir));
  }
  await registry.setAlias(MODEL, "production", 1);
  running = await runServices([recommendationModule], {
    env: { FUNNEL_PSEUDONYM_SALT: SALT },
    argv: [
      ...["--port", "0", "--metrics-port", "-1", "--log-level", "silent", "--model-cache-dir", path.join(root, "cache"), "--model-poll-ms", "50"],
      ...["--recommendation-served-log-dir", path.join(root, "served"), "--recommendation-served-log-sample-rate", "1"],
    ],
    modelSource: registry,
  });
  client = new RecommendationServiceClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
}, 180_000);

afterAll(async () => {
  client?.close();
  await running?.shutdown();
  await rm(root, { recursive: true, force: true });
});

const V1_WEIGHTS = { retrieval: 0.5, similarUsers: 0.2, neighbours: 0.3, popularity: 0 };

async function rewriteFiles(dir: string, remove: string[], write: Record<string, unknown>): Promise<void> {
  const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as ModelManifest;
  for (const file of remove) await rm(path.join(dir, file));
  for (const [file, value] of Object.entries(write)) await writeFile(path.join(dir, file), JSON.stringify(value));
  await writeModelDirectoryManifest(dir, { name: manifest.name, kind: manifest.kind, metrics: manifest.metrics, params: manifest.params, lineage: manifest.lineage });
}

async function readVersion(dir: string): Promise<Version> {
  const read = (file: string) => readFile(path.join(dir, file), "utf8");
  const ids = async (file: string) => (await read(file)).trimEnd().split("\n");
  const userIds = await ids(MODEL_FILES.userIds);
  const users = readFloat32LittleEndian(await readFile(path.join(dir, MODEL_FILES.userEmbeddings)));
  const head = await read(OPTIONAL_MODEL_FILES.conversionHead).then(JSON.parse, () => undefined);
  return {
    stats: JSON.parse(await read(OPTIONAL_MODEL_FILES.interactionStats)),
    head,
    userIds,
    users,
    itemIds: await ids(MODEL_FILES.itemIds),
    items: readFloat32LittleEndian(await readFile(path.join(dir, MODEL_FILES.itemEmbeddings))),
    dim: users.length / userIds.length,
  };
}

function userVector(v: Version, userId: string): Float32Array {
  const row = v.userIds.indexOf(pseudonymiseUserId(userId, SALT));
  return v.users.subarray(row * v.dim, (row + 1) * v.dim);
}

function dot(v: Version, user: Float32Array, itemId: string): number {
  const row = v.itemIds.indexOf(itemId);
  let s = 0;
  for (let d = 0; d < v.dim; d++) s += user[d]! * v.items[row * v.dim + d]!;
  return s;
}

const recommend = (request: Partial<RecommendItemsRequest>) =>
  new Promise<RecommendItemsResponse>((resolve, reject) =>
    client.recommendItems({ userId: "", topK: 0, excludeItemIds: [], ...request }, (e, r) => (e ? reject(e) : resolve(r!))),
  );
const guide = (request: Partial<GuideNextStepRequest>) =>
  new Promise<GuideNextStepResponse>((resolve, reject) => client.guideNextStep({ userId: "", ...request }, (e, r) => (e ? reject(e) : resolve(r!))));

const context = (c: Partial<NonNullable<RecommendItemsRequest["context"]>>) => ({ currentPage: 0, device: 0, sessionId: "", recentItemIds: [], ...c });

describe("RecommendationService", () => {
  it("is SERVING once the version and its indexes are loaded", async () => {
    expect(await checkHealth(`127.0.0.1:${running.port}`, "funnel.v1.RecommendationService")).toBe("SERVING");
  });

  it("recommends for a known user from item retrieval and similar users, without seen or excluded items", async () => {
    const v = versions.get(1)!;
    const seen = v.stats.users[pseudonymiseUserId(knownUserId, SALT)]!.items;
    const candidates = v.itemIds.filter((id) => !seen.includes(id));
    const exclude = candidates.slice(0, 2);
    const recent = candidates.slice(2, 3);
    const r = await recommend({ userId: knownUserId, topK: 10, excludeItemIds: exclude, context: context({ recentItemIds: recent }) });
    expect(r.model).toEqual({ name: MODEL, version: "1" });
    expect(r.items).toHaveLength(10);
    const ids = r.items.map((i) => i.itemId);
    for (const id of [...seen, ...exclude, ...recent]) expect(ids).not.toContain(id);
    expect(new Set(ids).size).toBe(10);
    const scores = r.items.map((i) => i.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const sources = new Set(r.items.map((i) => i.source));
    expect([...sources].some((s) => s === S.RECOMMENDATION_SOURCE_HYBRID || s === S.RECOMMENDATION_SOURCE_SIMILAR_USERS)).toBe(true);
    // Without context, a retrieval-only item scores the version's retrieval weight × its dot product with the user vector.
    const user = userVector(v, knownUserId);
    for (const item of r.items.filter((i) => i.source === S.RECOMMENDATION_SOURCE_ITEM_RETRIEVAL)) {
      expect(item.score).toBeCloseTo(V1_WEIGHTS.retrieval * dot(v, user, item.itemId), 4);
    }
  });

  it("re-ranks by context: items on the current or next funnel page get the page boost", async () => {
    const v = versions.get(1)!;
    const plain = await recommend({ userId: knownUserId, topK: 30 });
    const atProduct = await recommend({ userId: knownUserId, topK: 30, context: context({ currentPage: PageType.PAGE_TYPE_PRODUCT }) });
    const before = new Map(plain.items.map((i) => [i.itemId, i.score]));
    let compared = 0;
    for (const item of atProduct.items) {
      const was = before.get(item.itemId);
      if (was === undefined || item.source === S.RECOMMENDATION_SOURCE_POPULARITY) continue;
      const page = v.stats.items[item.itemId]?.page;
      const boost = page === "product" || page === "payment" ? 1 + 0.2 * 0.5 : 1;
      expect(item.score).toBeCloseTo(was * boost, 5);
      compared++;
    }
    expect(compared).toBeGreaterThan(5);
  });

  it("recommends for a new user from raw features", async () => {
    const r = await recommend({ features: FEATURES, topK: 5 });
    expect(r.items).toHaveLength(5);
    expect(r.items.every((i) => i.source !== S.RECOMMENDATION_SOURCE_POPULARITY)).toBe(true);
  });

  it("falls back to popularity for cold start (no features, unknown id), per device when given", async () => {
    const v = versions.get(1)!;
    const byCount = Object.entries(v.stats.items).sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1));
    const cold = await recommend({ topK: 5 });
    expect(cold.items.map((i) => i.itemId)).toEqual(byCount.slice(0, 5).map(([id]) => id));
    expect(cold.items.every((i) => i.source === S.RECOMMENDATION_SOURCE_POPULARITY)).toBe(true);
    expect(cold.items[0]!.score).toBe(1);
    const unknown = await recommend({ userId: "never-seen", topK: 5, excludeItemIds: [byCount[0]![0]] });
    expect(unknown.items.map((i) => i.itemId)).toEqual(byCount.slice(1, 6).map(([id]) => id));
    const mobile = (s: (typeof byCount)[number][1]) => s.byDevice.mobile ?? 0;
    const byMobile = Object.entries(v.stats.items).sort((a, b) => mobile(b[1]) - mobile(a[1]) || (a[0] < b[0] ? -1 : 1));
    const onMobile = await recommend({ topK: 3, context: context({ device: DeviceType.DEVICE_TYPE_MOBILE }) });
    expect(onMobile.items.map((i) => i.itemId)).toEqual(byMobile.slice(0, 3).map(([id]) => id));
  });

  it("logs each served answer (sample rate 1) with its request id, pseudonymised user, version and ranked items", async () => {
    const metadata = new grpc.Metadata();
    metadata.set("x-request-id", "served-log-e2e-1");
    const r = await new Promise<RecommendItemsResponse>((resolve, reject) =>
      client.recommendItems({ userId: knownUserId, topK: 4, excludeItemIds: [] }, metadata, (e, res) => (e ? reject(e) : resolve(res!))),
    );
    const served = path.join(root, "served", `served-recommendations-${new Date().toISOString().slice(0, 10)}.jsonl`);
    let record: ServedRecommendation | undefined;
    for (let i = 0; i < 100 && !record; i++) {
      const text = await readFile(served, "utf8").catch(() => "");
      record = text.split("\n").filter(Boolean).map((l) => parseServedRecommendation(l)).map((p) => ("record" in p ? p.record : undefined)).find((x) => x?.requestId === "served-log-e2e-1");
      if (!record) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(record).toBeDefined();
    expect(record!.user).toBe(pseudonymiseUserId(knownUserId, SALT));
    expect(JSON.stringify(record)).not.toContain(knownUserId);
    expect({ name: record!.model, version: record!.version }).toEqual(r.model);
    expect(record!.items).toEqual(r.items.map((item, i) => ({ itemId: item.itemId, rank: i + 1, score: expect.closeTo(item.score, 5), source: expect.any(String) })));
  });

  it("guides the next step with the conversion head's probability and similar users' funnel paths", async () => {
    const v = versions.get(1)!;
    const r = await guide({ userId: knownUserId, context: context({ currentPage: PageType.PAGE_TYPE_SEARCH, device: DeviceType.DEVICE_TYPE_MOBILE }) });
    expect(r.model).toEqual({ name: MODEL, version: "1" });
    expect(r.conversionEstimate).toBe(ConversionEstimate.CONVERSION_ESTIMATE_MODEL);
    expect(r.conversionProbability).toBeCloseTo(predictConversion(v.head!, userVector(v, knownUserId), "search", "mobile"), 5);
    expect(r.suggestions.map((s) => s.targetPage).sort()).toEqual([PageType.PAGE_TYPE_PRODUCT, PageType.PAGE_TYPE_PAYMENT]);
    expect(r.nextPage).toBe(r.suggestions[0]!.targetPage);
    expect(r.suggestions[0]!.score).toBeGreaterThanOrEqual(r.suggestions[1]!.score);
    expect(r.suggestions[0]!.reason).toMatch(/similar users reached/);
    const atPayment = await guide({ features: FEATURES, context: context({ currentPage: PageType.PAGE_TYPE_PAYMENT }) });
    expect(atPayment.suggestions.map((s) => s.action)).toEqual(["complete_checkout"]);
  });

  it.skipIf(inject("milvusAddress") === null)("answers the same from Milvus as from the embedded index", async () => {
    const withMilvus = await runServices([recommendationModule], {
      env: { FUNNEL_PSEUDONYM_SALT: SALT },
      argv: [
        "--port", "0", "--metrics-port", "-1", "--log-level", "silent", "--model-cache-dir", path.join(root, "cache-milvus"), "--model-poll-ms", "0",
        "--milvus-address", inject("milvusAddress")!,
      ],
      modelSource: registry,
    });
    const milvusClient = new RecommendationServiceClient(`127.0.0.1:${withMilvus.port}`, grpc.credentials.createInsecure());
    try {
      const request = { userId: knownUserId, topK: 10, excludeItemIds: [], context: context({ currentPage: PageType.PAGE_TYPE_SEARCH, device: DeviceType.DEVICE_TYPE_TABLET }) };
      const fromMilvus = await new Promise<RecommendItemsResponse>((resolve, reject) => milvusClient.recommendItems(request, (e, r) => (e ? reject(e) : resolve(r!))));
      const embedded = await recommend(request);
      expect(fromMilvus.model).toEqual(embedded.model);
      expect(fromMilvus.items.map((i) => [i.itemId, i.source])).toEqual(embedded.items.map((i) => [i.itemId, i.source]));
      for (const [i, item] of fromMilvus.items.entries()) expect(item.score).toBeCloseTo(embedded.items[i]!.score, 4);
    } finally {
      milvusClient.close();
      await withMilvus.shutdown();
    }
  });

  it("answers bad input with a status naming the field", async () => {
    await expect(recommend({ userId: knownUserId, topK: 101 })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("top_k: must be 1..100") });
    await expect(recommend({ userId: knownUserId, context: context({ currentPage: 17 as PageType }) })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining("context.current_page: unknown enum value 17"),
    });
    await expect(recommend({ userId: knownUserId, excludeItemIds: Array.from({ length: 1001 }, (_, i) => `x${i}`) })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining("over the limit of 1000"),
    });
    await expect(recommend({ userId: "   " })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("user_id") });
    await expect(guide({ features: { ...FEATURES, sessionCount: -1 } })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("features") });
    await expect(recommend({ userId: knownUserId, model: { name: MODEL, version: "99" } })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("swaps versions under concurrent calls, each answer consistent with the version it names; without a head it says so", async () => {
    const reference = new Map<string, string>();
    const failures: unknown[] = [];
    const inconsistent: string[] = [];
    let moved = false;
    let calls = 0;
    const worker = async () => {
      let afterSwap = 0;
      while (afterSwap < 5) {
        try {
          const r = await recommend({ userId: knownUserId, topK: 10 });
          const answer = JSON.stringify(r.items);
          const version = r.model!.version;
          const ref = reference.get(version);
          if (ref === undefined) reference.set(version, answer);
          else if (ref !== answer) inconsistent.push(version);
          if (version === "2") afterSwap++;
        } catch (error) {
          failures.push(error);
          return;
        }
        if (!moved && ++calls > 100) {
          moved = true;
          await registry.setAlias(MODEL, "production", 2);
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    expect(failures).toEqual([]);
    expect(inconsistent).toEqual([]);
    expect([...reference.keys()].sort()).toEqual(["1", "2"]);
    expect(reference.get("1")).not.toEqual(reference.get("2"));
    // Every version-2 item retrieved scores with version 2's vectors.
    const v2 = versions.get(2)!;
    const items = JSON.parse(reference.get("2")!) as RecommendItemsResponse["items"];
    for (const item of items.filter((i) => i.source === S.RECOMMENDATION_SOURCE_ITEM_RETRIEVAL)) {
      expect(item.score).toBeCloseTo(0.7 * dot(v2, userVector(v2, knownUserId), item.itemId), 4);
    }
    const g = await guide({ userId: knownUserId, context: context({ currentPage: PageType.PAGE_TYPE_PRODUCT }) });
    expect(g.model!.version).toBe("2");
    expect(g.conversionEstimate).toBe(ConversionEstimate.CONVERSION_ESTIMATE_PAGE_BASE_RATE);
    expect(g.conversionProbability).toBeCloseTo(v2.stats.baseRates.product!, 6);
  }, 120_000);
});
