// End to end: tiny two-tower versions trained and registered in a real file registry, served by the real
// module on a real gRPC server (port 0) with each index backend, answers compared with exact search over the
// stored vectors; alias moves swap versions (and their indexes) live under concurrent calls.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import {
  DeviceType,
  type FindSimilarUsersRequest,
  type FindSimilarUsersResponse,
  InteractionType,
  PageType,
  SimilarityServiceClient,
  type UpsertUserVectorsRequest,
  type UpsertUserVectorsResponse,
  type UserFeatures,
} from "@funnel/proto";
import { FileRegistry } from "@funnel/registry";
import { runServices, type RunningServices } from "@funnel/runtime";
import { checkHealth } from "@funnel/runtime/testing";
import { tinyModelDataset, trainTinyModelDirectory } from "@funnel/training/testing";
import { encodeUsers, MODEL_FILES, OnnxTowers, OPTIONAL_MODEL_FILES, pseudonymiseUserId, rawUserFeaturesFromProto, readFloat32LittleEndian } from "@funnel/two-tower";
import { exactTopK, MilvusCatalog } from "@funnel/vector-index";
import { findMilvusLite, startMilvusLite } from "@funnel/vector-index/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { similarityModule } from "./similarity-module.js";

const SALT = "e2e-salt";
const MODEL = "two-tower";

const FEATURES: UserFeatures = {
  device: DeviceType.DEVICE_TYPE_MOBILE,
  sessionCount: 3,
  avgSessionDurationSeconds: 120,
  interactionCount: 12,
  recentInteractions: [{ page: PageType.PAGE_TYPE_PRODUCT, interaction: InteractionType.INTERACTION_TYPE_CLICK, itemId: "", durationSeconds: 30 }],
};

/** What exact search over a version's stored user vectors answers. */
interface VersionTruth {
  ids: string[];
  matrix: Float32Array;
  dim: number;
  devices: Record<string, string>;
  featureVector: Float32Array;
}

let root: string;
let registry: FileRegistry;
const truth = new Map<number, VersionTruth>();
let knownUserId: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "similarity-e2e-"));
  registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "test" });
  knownUserId = tinyModelDataset({}).events[0]!.userId;
  for (const seed of [1, 2]) {
    const dir = path.join(root, `model-${seed}`);
    await trainTinyModelDirectory(dir, { seed, salt: SALT });
    const version = (await registry.register(dir)).version;
    truth.set(version, await readTruth(dir));
  }
}, 180_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function readTruth(dir: string): Promise<VersionTruth> {
  const ids = (await readFile(path.join(dir, MODEL_FILES.userIds), "utf8")).trimEnd().split("\n");
  const matrix = readFloat32LittleEndian(await readFile(path.join(dir, MODEL_FILES.userEmbeddings)));
  const stats = JSON.parse(await readFile(path.join(dir, OPTIONAL_MODEL_FILES.interactionStats), "utf8"));
  const towers = await OnnxTowers.load(dir);
  const featureVector = await towers.embedUsers(encodeUsers(towers.spec, [rawUserFeaturesFromProto(FEATURES)]));
  await towers.release();
  const devices = Object.fromEntries(Object.entries(stats.users as Record<string, { device: string }>).map(([id, u]) => [id, u.device]));
  return { ids, matrix, dim: matrix.length / ids.length, devices, featureVector };
}

/** Exact top-k ids of a query vector over the version's stored users. */
function exact(
  version: number,
  query: Float32Array,
  k: number,
  skip: (id: string) => boolean = () => false,
  extra: { id: string; vector: Float32Array }[] = [],
): { id: string; score: number }[] {
  const t = truth.get(version)!;
  const ids = [...t.ids, ...extra.map((e) => e.id)];
  const matrix = new Float32Array(ids.length * t.dim);
  matrix.set(t.matrix);
  for (const [i, e] of extra.entries()) matrix.set(e.vector, (t.ids.length + i) * t.dim);
  const [top] = exactTopK(query, matrix, k, { dim: t.dim, skip: (_, row) => skip(ids[row]!) });
  return Array.from(top!.rows, (row, i) => ({ id: ids[row]!, score: top!.scores[i]! }));
}

function storedVector(version: number, userId: string): Float32Array {
  const t = truth.get(version)!;
  const row = t.ids.indexOf(pseudonymiseUserId(userId, SALT));
  return t.matrix.slice(row * t.dim, (row + 1) * t.dim);
}

const milvusAddress = inject("milvusAddress");

// Milvus runs when the global setup started milvus-lite (always on CI; it warns loudly when skipped locally).
const backends = [
  { backend: "exact", args: ["--similarity-exact-below", "1000000"] },
  { backend: "HNSW", args: ["--similarity-exact-below", "0"] },
  ...(milvusAddress ? [{ backend: "Milvus", args: ["--milvus-address", milvusAddress] }] : []),
];

describe.each(backends)("SimilarityService with the $backend index", ({ backend, args }) => {
  let running: RunningServices;
  let client: SimilarityServiceClient;

  beforeAll(async () => {
    await registry.setAlias(MODEL, "production", 1);
    running = await runServices([similarityModule], {
      env: { FUNNEL_PSEUDONYM_SALT: SALT },
      argv: [
        "--port", "0", "--metrics-port", "-1", "--log-level", "silent",
        "--model-cache-dir", path.join(root, `cache-${backend}`), "--model-poll-ms", "50",
        ...args,
      ],
      modelSource: registry,
    });
    client = new SimilarityServiceClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await running?.shutdown();
  });

  const find = (request: Partial<FindSimilarUsersRequest>) =>
    new Promise<FindSimilarUsersResponse>((resolve, reject) => client.findSimilarUsers({ topK: 0, ...request }, (e, r) => (e ? reject(e) : resolve(r!))));
  const upsert = (request: Partial<UpsertUserVectorsRequest>) =>
    new Promise<UpsertUserVectorsResponse>((resolve, reject) => client.upsertUserVectors({ users: [], ...request }, (e, r) => (e ? reject(e) : resolve(r!))));

  function expectSameHits(actual: { id: string; score: number }[], wanted: { id: string; score: number }[]): void {
    if (backend === "HNSW") {
      // HNSW is approximate and its multi-threaded build differs from run to run: a near-tie may swap or drop
      // out. Nine in ten of exact search's users must be there, each with exact search's score.
      const exactScore = new Map(wanted.map((h) => [h.id, h.score]));
      const shared = actual.filter((h) => exactScore.has(h.id));
      expect(shared.length).toBeGreaterThanOrEqual(Math.floor(wanted.length * 0.9));
      for (const h of shared) expect(h.score).toBeCloseTo(exactScore.get(h.id)!, 4);
      return;
    }
    expect(actual.map((h) => h.id)).toEqual(wanted.map((h) => h.id));
    for (const [i, h] of actual.entries()) expect(h.score).toBeCloseTo(wanted[i]!.score, 4);
  }

  it("is SERVING once the version and its indexes are loaded", async () => {
    expect(await checkHealth(`127.0.0.1:${running.port}`, "funnel.v1.SimilarityService")).toBe("SERVING");
  });

  it("finds the same users as exact search, by id (self excluded), by features and by vector, naming the version", async () => {
    const self = pseudonymiseUserId(knownUserId, SALT);
    const byId = await find({ query: { $case: "userId", value: knownUserId }, topK: 10 });
    expect(byId.model).toEqual({ name: MODEL, version: "1" });
    expectSameHits(byId.users, exact(1, storedVector(1, knownUserId), 10, (id) => id === self));

    const withSelf = await find({ query: { $case: "userId", value: knownUserId }, topK: 3, excludeSelf: false });
    expect(withSelf.users[0]).toMatchObject({ id: self });
    expect(withSelf.users[0]!.score).toBeCloseTo(1, 4);

    const byFeatures = await find({ query: { $case: "features", value: FEATURES }, topK: 25 });
    expectSameHits(byFeatures.users, exact(1, truth.get(1)!.featureVector, 25));

    const vector = Array.from(storedVector(1, knownUserId));
    const byVector = await find({ query: { $case: "vector", value: { values: vector } }, topK: 5, model: { name: MODEL, version: "1" } });
    expectSameHits(byVector.users, exact(1, storedVector(1, knownUserId), 5));
  });

  it("applies min_score and the device filter", async () => {
    const all = exact(1, truth.get(1)!.featureVector, 1000);
    const threshold = all[Math.floor(all.length / 3)]!.score;
    const above = await find({ query: { $case: "features", value: FEATURES }, topK: 1000, minScore: threshold });
    const wantedAbove = all.filter((h) => h.score >= threshold);
    if (backend === "HNSW") {
      // HNSW is approximate: above the threshold a user or two of ~40 may drop out (seen in about one run in three),
      // so it must never pass the threshold and must find nearly all of what exact search finds.
      expect(above.users.every((h) => h.score >= threshold - 1e-6)).toBe(true);
      const wantedIds = new Set(wantedAbove.map((h) => h.id));
      const found = above.users.filter((h) => wantedIds.has(h.id)).length;
      expect(found / wantedAbove.length).toBeGreaterThanOrEqual(0.95);
    } else {
      expectSameHits(above.users, wantedAbove);
    }

    const devices = truth.get(1)!.devices;
    const mobile = await find({ query: { $case: "features", value: FEATURES }, topK: 10, filter: { device: DeviceType.DEVICE_TYPE_MOBILE } });
    expect(mobile.users.length).toBe(10);
    expect(mobile.users.every((h) => devices[h.id] === "mobile")).toBe(true);
    const wantedMobile = exact(1, truth.get(1)!.featureVector, 10, (id) => devices[id] !== "mobile");
    if (backend === "HNSW") {
      const wantedIds = new Set(wantedMobile.map((h) => h.id));
      expect(mobile.users.filter((h) => wantedIds.has(h.id)).length).toBeGreaterThanOrEqual(9);
    } else {
      expectSameHits(mobile.users, wantedMobile);
    }
  });

  it("refuses a vector of another version or dimension with INVALID_ARGUMENT naming both", async () => {
    const vector = Array.from(storedVector(1, knownUserId));
    await expect(find({ query: { $case: "vector", value: { values: vector } }, model: { name: MODEL, version: "2" } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining("vectors of model version two-tower v2 cannot be searched in the index of two-tower v1 (users)"),
    });
    await expect(find({ query: { $case: "vector", value: { values: vector.slice(1) } }, model: { name: MODEL, version: "1" } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining(`has ${vector.length - 1} values`),
    });
    await expect(find({ query: { $case: "vector", value: { values: vector } } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining("model.version: is required with a vector query"),
    });
  });

  it("answers bad input with a status naming the field", async () => {
    await expect(find({ query: { $case: "userId", value: knownUserId }, topK: 1001 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining("top_k: must be 1..1000"),
    });
    await expect(find({})).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: "query: set one of user_id, features or vector" });
    await expect(find({ query: { $case: "userId", value: "nobody" } })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: expect.stringContaining('user_id "nobody" has no vector in two-tower version 1'),
    });
    await expect(find({ query: { $case: "vector", value: { values: [Number.NaN, 1] } }, model: { name: MODEL, version: "1" } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining("vector.values[0]: must be a finite number"),
    });
    await expect(find({ query: { $case: "features", value: FEATURES }, filter: { device: 9 as DeviceType } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining("filter.device: unknown enum value 9"),
    });
    await expect(find({ query: { $case: "userId", value: knownUserId }, model: { name: MODEL, version: "99" } })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    await expect(upsert({ users: [{ userId: "x", source: { $case: "vector", value: { values: [1, 2] } } }] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining("model.version: is required with raw vectors"),
    });
    await expect(upsert({ users: [] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("users: must contain") });
  });

  it("makes upserted users visible to the next query, from features or from vectors of the same version only", async () => {
    const fromFeatures = await upsert({ users: [{ userId: "new-user-a", source: { $case: "features", value: FEATURES } }] });
    expect(fromFeatures).toEqual({ upserted: 1, model: { name: MODEL, version: "1" } });
    const a = pseudonymiseUserId("new-user-a", SALT);
    const nearest = await find({ query: { $case: "features", value: FEATURES }, topK: 1 });
    expect(nearest.users[0]!.id).toBe(a);
    expect(nearest.users[0]!.score).toBeCloseTo(1, 4);
    // Querying by the upserted user's id uses its new vector and leaves it out.
    const byId = await find({ query: { $case: "userId", value: "new-user-a" }, topK: 5 });
    expectSameHits(byId.users, exact(1, truth.get(1)!.featureVector, 5));

    const vector = Array.from(storedVector(1, knownUserId)).map((v) => -v);
    await upsert({ users: [{ userId: "new-user-b", source: { $case: "vector", value: { values: vector } } }], model: { name: MODEL, version: "1" } });
    const byVector = await find({ query: { $case: "vector", value: { values: vector } }, topK: 1, model: { name: MODEL, version: "1" } });
    expect(byVector.users[0]!.id).toBe(pseudonymiseUserId("new-user-b", SALT));

    await expect(
      upsert({ users: [{ userId: "new-user-c", source: { $case: "vector", value: { values: vector } } }], model: { name: MODEL, version: "2" } }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("vectors of model version two-tower v2 cannot be searched in the index of two-tower v1 (users)") });
  });

  it.runIf(backend === "Milvus")("finds by id a user another replica upserted into the shared Milvus (not in this process's memory)", async () => {
    const other = new MilvusCatalog({ address: milvusAddress! });
    const pseudonym = pseudonymiseUserId("other-replica-user", SALT);
    const vector = Float32Array.from(storedVector(1, knownUserId), (v, i) => (i % 2 === 0 ? v : -v));
    try {
      const users = await other.openServing(MODEL, "users");
      await users.upsert({ version: { model: MODEL, version: "1" }, ids: [pseudonym], vectors: [vector] });
    } finally {
      await other.close();
    }
    const byId = await find({ query: { $case: "userId", value: "other-replica-user" }, topK: 5 });
    const byVector = await find({ query: { $case: "vector", value: { values: Array.from(vector) } }, topK: 6, model: { name: MODEL, version: "1" } });
    expect(byVector.users[0]!.id).toBe(pseudonym);
    expectSameHits(byId.users, byVector.users.filter((h) => h.id !== pseudonym).slice(0, 5));
  });

  it("swaps the version and its index under concurrent calls, every answer matching exact search of the version it names", async () => {
    const results: { version: string; ids: string[] }[] = [];
    const failures: unknown[] = [];
    let moved = false;
    const self = pseudonymiseUserId(knownUserId, SALT);
    const worker = async () => {
      let afterSwap = 0;
      while (afterSwap < 5) {
        try {
          const r = await find({ query: { $case: "userId", value: knownUserId }, topK: 10 });
          results.push({ version: r.model!.version, ids: r.users.map((h) => h.id) });
          if (r.model!.version === "2") afterSwap++;
        } catch (error) {
          failures.push(error);
          return;
        }
        if (!moved && results.length > 100) {
          moved = true;
          await registry.setAlias(MODEL, "production", 2);
        }
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    expect(failures).toEqual([]);
    expect(new Set(results.map((r) => r.version))).toEqual(new Set(["1", "2"]));
    // Version 1's index also holds the users upserted above.
    const upserted = [
      { id: pseudonymiseUserId("new-user-a", SALT), vector: truth.get(1)!.featureVector },
      { id: pseudonymiseUserId("new-user-b", SALT), vector: storedVector(1, knownUserId).map((v) => -v) },
    ];
    const wanted = new Map([
      ["1", exact(1, storedVector(1, knownUserId), 10, (id) => id === self, upserted).map((h) => h.id)],
      ["2", exact(2, storedVector(2, knownUserId), 10, (id) => id === self).map((h) => h.id)],
    ]);
    expect(wanted.get("1")).not.toEqual(wanted.get("2"));
    if (backend === "HNSW") {
      // HNSW is approximate (near-ties may swap or drop out), so each answer must agree with exact search of the
      // version it names far more than with the other version's: a mixed answer fails that.
      const overlap = (ids: string[], version: string) => ids.filter((id) => wanted.get(version)!.includes(id)).length;
      for (const r of results) {
        expect(overlap(r.ids, r.version)).toBeGreaterThanOrEqual(8);
        expect(overlap(r.ids, r.version)).toBeGreaterThan(overlap(r.ids, r.version === "1" ? "2" : "1"));
      }
    } else {
      for (const r of results) expect(r.ids).toEqual(wanted.get(r.version));
    }
    if (milvusAddress && backend === "Milvus") {
      // The alias moved with the version, after each version's backfill was counted.
      const catalog = new MilvusCatalog({ address: milvusAddress });
      try {
        for (const entity of ["users", "items"]) expect((await catalog.openServing(MODEL, entity)).version.version).toBe("2");
      } finally {
        await catalog.close();
      }
    }
    // Upserts went into version 1's index, which left with it.
    await expect(find({ query: { $case: "userId", value: "new-user-a" } })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  }, 120_000);
});

describe.skipIf(milvusAddress === null)("SimilarityService while Milvus is down", () => {
  it("answers UNAVAILABLE with a retry hint and reports NOT_SERVING until Milvus answers again", async () => {
    const milvus = await startMilvusLite((await findMilvusLite(process.env.PATH ?? ""))!);
    await registry.setAlias(MODEL, "production", 1);
    const running = await runServices([similarityModule], {
      env: { FUNNEL_PSEUDONYM_SALT: SALT },
      argv: [
        "--port", "0", "--metrics-port", "-1", "--log-level", "silent", "--model-cache-dir", path.join(root, "cache-milvus-down"),
        "--model-poll-ms", "0", "--milvus-address", milvus.address, "--milvus-check-ms", "100",
      ],
      modelSource: registry,
    });
    const address = `127.0.0.1:${running.port}`;
    const client = new SimilarityServiceClient(address, grpc.credentials.createInsecure());
    try {
      expect(await checkHealth(address, "funnel.v1.SimilarityService")).toBe("SERVING");
      await milvus.stop();
      const call = new Promise<FindSimilarUsersResponse>((resolve, reject) =>
        client.findSimilarUsers({ query: { $case: "userId", value: knownUserId }, topK: 5 }, new grpc.Metadata(), { deadline: Date.now() + 30_000 }, (e, r) => (e ? reject(e) : resolve(r!))),
      );
      // Either the search's own answer ("Milvus … unreachable …; retry in a few seconds") or, once the 100 ms
      // check saw the outage first (milvus-lite can take longer than that to stop), the not-ready answer.
      await expect(call).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringMatching(/retry in a few seconds|not ready: .*retry shortly/) });
      let health = await checkHealth(address, "funnel.v1.SimilarityService");
      for (let i = 0; i < 100 && health !== "NOT_SERVING"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        health = await checkHealth(address, "funnel.v1.SimilarityService");
      }
      expect(health).toBe("NOT_SERVING");
    } finally {
      client.close();
      await running.shutdown();
    }
  }, 120_000);
});
