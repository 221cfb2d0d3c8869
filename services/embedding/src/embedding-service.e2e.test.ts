// End to end: real two-tower versions trained and registered in a real file registry, served by the real
// module on a real gRPC server (port 0), called with the generated client; alias moves swap versions live.
import { appendFile, cp, mkdtemp, readFile, rm, stat, truncate } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import {
  DeviceType,
  EmbeddingServiceClient,
  InteractionType,
  ModelStatusServiceClient,
  PageType,
  type EmbedItemsRequest,
  type EmbedItemsResponse,
  type EmbedUsersRequest,
  type EmbedUsersResponse,
  type ListModelsResponse,
  type UserFeatures,
} from "@funnel/proto";
import { FileRegistry, writeModelDirectoryManifest } from "@funnel/registry";
import { runServices, type RunningServices } from "@funnel/runtime";
import { checkHealth } from "@funnel/runtime/testing";
import { tinyModelDataset, trainTinyModelDirectory } from "@funnel/training/testing";
import { MODEL_FILES, OnnxTowers, encodeUsers, pseudonymiseUserId, rawUserFeaturesFromProto, readFloat32LittleEndian } from "@funnel/two-tower";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddingModule } from "./embedding-module.js";

const SALT = "e2e-salt";
const MODEL = "two-tower";

let root: string;
let registry: FileRegistry;
let running: RunningServices;
let client: EmbeddingServiceClient;
let status: ModelStatusServiceClient;
/** Per version: the stored vector of a known user, and the tower's vector for a fixed feature row. */
const expected = new Map<number, { knownUser: number[]; features: number[] }>();
const dirs = new Map<number, string>();
let knownUserId: string;

const FEATURES: UserFeatures = {
  device: DeviceType.DEVICE_TYPE_MOBILE,
  sessionCount: 3,
  avgSessionDurationSeconds: 120,
  interactionCount: 12,
  recentInteractions: [{ page: PageType.PAGE_TYPE_PRODUCT, interaction: InteractionType.INTERACTION_TYPE_CLICK, itemId: "", durationSeconds: 30 }],
};

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "embedding-e2e-"));
  registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "test" });
  const data = tinyModelDataset({});
  knownUserId = data.events[0]!.userId;
  for (const seed of [1, 2]) {
    const dir = path.join(root, `model-${seed}`);
    // Version 2 is the history model: the same requests embed users from the features and history they send and
    // known users from their stored history, whichever model a version holds.
    await trainTinyModelDirectory(dir, { seed, salt: SALT, architecture: seed === 2 ? "history" : "mlp" });
    const version = (await registry.register(dir)).version;
    dirs.set(version, dir);
    expected.set(version, await expectedVectors(dir));
  }
  await registry.setAlias(MODEL, "production", 1);
  running = await runServices([embeddingModule], {
    env: { FUNNEL_PSEUDONYM_SALT: SALT },
    argv: ["--port", "0", "--metrics-port", "-1", "--log-level", "silent", "--model-cache-dir", path.join(root, "cache"), "--model-poll-ms", "50"],
    modelSource: registry,
  });
  client = new EmbeddingServiceClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
  status = new ModelStatusServiceClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
}, 180_000);

afterAll(async () => {
  client?.close();
  status?.close();
  await running?.shutdown();
  await rm(root, { recursive: true, force: true });
});

async function expectedVectors(dir: string): Promise<{ knownUser: number[]; features: number[] }> {
  const ids = (await readFile(path.join(dir, MODEL_FILES.userIds), "utf8")).trimEnd().split("\n");
  const matrix = readFloat32LittleEndian(await readFile(path.join(dir, MODEL_FILES.userEmbeddings)));
  const row = ids.indexOf(pseudonymiseUserId(knownUserId, SALT));
  const towers = await OnnxTowers.load(dir);
  const features = await towers.embedUsers(encodeUsers(towers.spec, [rawUserFeaturesFromProto(FEATURES)]));
  await towers.release();
  return { knownUser: Array.from(matrix.subarray(row * towers.dim, (row + 1) * towers.dim)), features: Array.from(features) };
}

const embedUsers = (request: Partial<EmbedUsersRequest>) =>
  new Promise<EmbedUsersResponse>((resolve, reject) =>
    client.embedUsers({ users: [], ...request }, (error, response) => (error ? reject(error) : resolve(response!))),
  );
const embedItems = (request: Partial<EmbedItemsRequest>) =>
  new Promise<EmbedItemsResponse>((resolve, reject) =>
    client.embedItems({ items: [], ...request }, (error, response) => (error ? reject(error) : resolve(response!))),
  );
const listModels = () =>
  new Promise<ListModelsResponse>((resolve, reject) => status.listModels({}, (error, response) => (error ? reject(error) : resolve(response!))));

function expectClose(actual: number[] | undefined, wanted: number[]): void {
  expect(actual).toHaveLength(wanted.length);
  const maxDiff = Math.max(...wanted.map((w, i) => Math.abs(w - actual![i]!)));
  expect(maxDiff).toBeLessThan(1e-5);
}

async function waitFor(predicate: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function servedVersion(): Promise<string> {
  return (await listModels()).models[0]?.version ?? "";
}

describe("EmbeddingService", () => {
  it("is SERVING once the production version is loaded", async () => {
    expect(await checkHealth(`127.0.0.1:${running.port}`, "funnel.v1.EmbeddingService")).toBe("SERVING");
  });

  it("embeds users by id and by features in one request, in request order, from the version it names", async () => {
    const response = await embedUsers({
      users: [{ input: { $case: "features", value: FEATURES } }, { input: { $case: "userId", value: knownUserId } }],
    });
    expect(response.model).toEqual({ name: MODEL, version: "1" });
    expect(response.embeddings.map((e) => e.id)).toEqual(["", knownUserId]);
    expectClose(response.embeddings[0]!.vector?.values, expected.get(1)!.features);
    expectClose(response.embeddings[1]!.vector?.values, expected.get(1)!.knownUser);
  });

  it("embeds items by id and by features", async () => {
    const data = tinyModelDataset({});
    const itemId = data.items[0]!.itemId;
    const response = await embedItems({
      items: [{ input: { $case: "itemId", value: itemId } }, { input: { $case: "features", value: { itemId, page: PageType.PAGE_TYPE_PRODUCT, interaction: 0, category: "books" } } }],
    });
    expect(response.embeddings).toHaveLength(2);
    expect(response.embeddings[0]!.id).toBe(itemId);
    const norm = Math.hypot(...response.embeddings[1]!.vector!.values);
    expect(norm).toBeCloseTo(1, 4);
  });

  it("answers a pinned version it holds and NOT_FOUND naming one it does not", async () => {
    const v = await servedVersion();
    await expect(embedUsers({ users: [{ input: { $case: "userId", value: knownUserId } }], model: { name: MODEL, version: v } })).resolves.toBeTruthy();
    await expect(embedUsers({ users: [{ input: { $case: "userId", value: knownUserId } }], model: { name: MODEL, version: "99" } })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: expect.stringContaining('version "99" is not served here'),
    });
  });

  it("rejects bad input with a status naming the field", async () => {
    await expect(embedUsers({ users: [{ input: { $case: "userId", value: knownUserId } }, { input: { $case: "userId", value: "nobody" } }] })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: expect.stringContaining('users[1].user_id "nobody" has no stored embedding'),
    });
    await expect(embedUsers({ users: [{}] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: "users[0]: set either user_id or features" });
    await expect(embedUsers({ users: [] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("users: must contain") });
    await expect(embedUsers({ users: [{ input: { $case: "features", value: { ...FEATURES, device: 42 as DeviceType } } }] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining("users[0].features.device: unknown enum value 42"),
    });
    await expect(embedUsers({ users: [{ input: { $case: "features", value: { ...FEATURES, sessionCount: -3 } } }] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^users\[0\]\.features: sessionCount must be a finite number >= 0/),
    });
    const tooMany = Array.from({ length: 1_025 }, () => ({ input: { $case: "userId" as const, value: knownUserId } }));
    await expect(embedUsers({ users: tooMany })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("over the limit of 1024") });
  });

  it("swaps to the version the alias moves to under concurrent load with no failed call, every answer matching its ModelRef", async () => {
    const from = Number(await servedVersion());
    const to = from === 1 ? 2 : 1;
    const results: { version: string; features: number[]; known: number[] }[] = [];
    const failures: unknown[] = [];
    let moved = false;
    const worker = async () => {
      // Keep calling until the swap has been seen for a while, so calls straddle it.
      let afterSwap = 0;
      while (afterSwap < 5) {
        try {
          const r = await embedUsers({
            users: [{ input: { $case: "features", value: FEATURES } }, { input: { $case: "userId", value: knownUserId } }],
          });
          results.push({ version: r.model!.version, features: r.embeddings[0]!.vector!.values, known: r.embeddings[1]!.vector!.values });
          if (r.model!.version === String(to)) afterSwap++;
        } catch (error) {
          failures.push(error);
          return;
        }
        if (!moved && results.length > 200) {
          moved = true;
          await registry.setAlias(MODEL, "production", to);
        }
      }
    };
    await Promise.all(Array.from({ length: 200 }, worker));
    expect(failures).toEqual([]);
    const seen = new Set(results.map((r) => r.version));
    expect(seen).toEqual(new Set([String(from), String(to)]));
    for (const r of results) {
      const want = expected.get(Number(r.version))!;
      expectClose(r.features, want.features);
      expectClose(r.known, want.knownUser);
    }
    // The cache is keyed by version: the same feature row after the swap is the new version's vector.
    const after = await embedUsers({ users: [{ input: { $case: "features", value: FEATURES } }] });
    expect(after.model!.version).toBe(String(to));
    expectClose(after.embeddings[0]!.vector!.values, expected.get(to)!.features);
  }, 120_000);

  it("refuses a corrupt version and keeps serving the current one, reporting why", async () => {
    const current = await servedVersion();
    const corruptVersion = (await registry.register(dirs.get(1)!)).version;
    // Damage a stored file after registration: the download's checksum check must catch it.
    await appendFile(path.join(root, "registry", "models", MODEL, "versions", String(corruptVersion), "model", MODEL_FILES.userTower), "garbage");
    await registry.setAlias(MODEL, "production", corruptVersion);
    await waitFor(async () => (await listModels()).models[0]!.failedLoads > 0, "the corrupt version to be refused");
    const slot = (await listModels()).models[0]!;
    expect(slot.version).toBe(current);
    expect(slot.lastErrorVersion).toBe(String(corruptVersion));
    expect(slot.lastError).toMatch(/sha256|bytes/);
    const r = await embedUsers({ users: [{ input: { $case: "userId", value: knownUserId } }] });
    expect(r.model!.version).toBe(current);
    expect(await checkHealth(`127.0.0.1:${running.port}`, "funnel.v1.EmbeddingService")).toBe("SERVING");
  });

  it("refuses a version whose ONNX tower was registered truncated (checksums match, the load fails) and keeps serving", async () => {
    const current = await servedVersion();
    // Truncated before registration, so the manifest's checksums agree with it: only loading can tell.
    const dir = path.join(root, "model-truncated");
    await cp(dirs.get(1)!, dir, { recursive: true });
    const tower = path.join(dir, MODEL_FILES.userTower);
    await truncate(tower, Math.floor((await stat(tower)).size / 2));
    const { format: _format, files: _files, ...meta } = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8"));
    await writeModelDirectoryManifest(dir, meta);
    const truncatedVersion = (await registry.register(dir)).version;
    await registry.setAlias(MODEL, "production", truncatedVersion);
    await waitFor(async () => (await listModels()).models[0]!.lastErrorVersion === String(truncatedVersion), "the truncated version to be refused");
    const slot = (await listModels()).models[0]!;
    expect(slot.version).toBe(current);
    expect(slot.lastError).toMatch(/onnx|protobuf|load/i);
    const r = await embedUsers({ users: [{ input: { $case: "features", value: FEATURES } }] });
    expect(r.model!.version).toBe(current);
    await registry.setAlias(MODEL, "production", Number(current));
  });

  it("answers a batch that cannot finish before its deadline with DEADLINE_EXCEEDED at the deadline, and serves the next calls", async () => {
    // 1024 distinct feature rows (none cached) per call, 8 calls at once: far more ONNX work than 30 ms allow.
    const users = (call: number) =>
      Array.from({ length: 1_024 }, (_, i) => ({ input: { $case: "features" as const, value: { ...FEATURES, sessionCount: 1_000 + call * 1_024 + i } } }));
    const deadlineMs = 30;
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, call) => {
        const started = performance.now();
        return new Promise<{ code: number; ms: number }>((resolve) =>
          client.embedUsers({ users: users(call) }, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (error) =>
            resolve({ code: error?.code ?? grpc.status.OK, ms: performance.now() - started }),
          ),
        );
      }),
    );
    expect(outcomes.map((o) => o.code)).toEqual(Array(8).fill(grpc.status.DEADLINE_EXCEEDED));
    // Never hangs: the status comes at the deadline (generous margin for a busy machine), not when the work ends.
    for (const outcome of outcomes) expect(outcome.ms).toBeLessThan(deadlineMs + 2_000);
    const after = await embedUsers({ users: [{ input: { $case: "features", value: FEATURES } }, { input: { $case: "userId", value: knownUserId } }] });
    expect(after.embeddings).toHaveLength(2);
    expect(await checkHealth(`127.0.0.1:${running.port}`, "funnel.v1.EmbeddingService")).toBe("SERVING");
  });
});
