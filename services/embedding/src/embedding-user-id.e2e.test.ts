// End to end: a version trained with the hashed user-id embedding, served on a real gRPC server. A raw-features
// request may carry the caller's user id (UserFeatures.user_id); the service hashes its salted pseudonym, as
// training did, so the answer is the tower's vector for the pseudonym's bucket.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { DeviceType, EmbeddingServiceClient, type EmbedUsersRequest, type EmbedUsersResponse, InteractionType, PageType, type UserFeatures } from "@funnel/proto";
import { FileRegistry } from "@funnel/registry";
import { runServices, type RunningServices } from "@funnel/runtime";
import { tinyModelDataset, trainTinyModelDirectory } from "@funnel/training/testing";
import { encodeUsers, OnnxTowers, pseudonymiseUserId, rawUserFeaturesFromProto } from "@funnel/two-tower";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddingModule } from "./embedding-module.js";

const SALT = "id-e2e-salt";
let root: string;
let running: RunningServices;
let client: EmbeddingServiceClient;
let towers: OnnxTowers;
let knownUserId: string;

const FEATURES: UserFeatures = {
  device: DeviceType.DEVICE_TYPE_DESKTOP,
  sessionCount: 2,
  recentInteractions: [{ page: PageType.PAGE_TYPE_PRODUCT, interaction: InteractionType.INTERACTION_TYPE_CLICK, itemId: "", durationSeconds: 12 }],
};

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "embedding-user-id-e2e-"));
  const registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "test" });
  knownUserId = tinyModelDataset({}).events[0]!.userId;
  const dir = path.join(root, "model");
  await trainTinyModelDirectory(dir, { seed: 5, salt: SALT, userIdBuckets: 64 });
  await registry.setAlias("two-tower", "production", (await registry.register(dir)).version);
  towers = await OnnxTowers.load(dir);
  running = await runServices([embeddingModule], {
    env: { FUNNEL_PSEUDONYM_SALT: SALT },
    argv: ["--port", "0", "--metrics-port", "-1", "--log-level", "silent", "--model-cache-dir", path.join(root, "cache")],
    modelSource: registry,
  });
  client = new EmbeddingServiceClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
}, 180_000);

afterAll(async () => {
  client?.close();
  await running?.shutdown();
  await towers?.release();
  await rm(root, { recursive: true, force: true });
});

const embedUsers = (request: Partial<EmbedUsersRequest>) =>
  new Promise<EmbedUsersResponse>((resolve, reject) => client.embedUsers({ users: [], ...request }, (error, response) => (error ? reject(error) : resolve(response!))));

async function towerVector(features: UserFeatures, pseudonym: string | undefined): Promise<number[]> {
  const raw = { ...rawUserFeaturesFromProto(features), userId: pseudonym };
  return Array.from(await towers.embedUsers(encodeUsers(towers.spec, [raw])));
}

function maxDiff(a: number[] | undefined, b: number[]): number {
  expect(a).toHaveLength(b.length);
  return Math.max(...b.map((x, i) => Math.abs(x - a![i]!)));
}

describe("EmbeddingService with user-id embeddings", () => {
  it("hashes the pseudonym of user_id (not the raw id) and embeds features without one through the no-id row", async () => {
    expect(towers.spec.user.idBuckets).toBe(64);
    const response = await embedUsers({
      users: [
        { input: { $case: "features", value: { ...FEATURES, userId: knownUserId } } },
        { input: { $case: "features", value: FEATURES } },
      ],
    });
    const [withId, withoutId] = response.embeddings.map((e) => e.vector?.values);
    const expectedWithId = await towerVector(FEATURES, pseudonymiseUserId(knownUserId, SALT));
    expect(maxDiff(withId, expectedWithId)).toBeLessThan(1e-5);
    expect(maxDiff(withoutId, await towerVector(FEATURES, undefined))).toBeLessThan(1e-5);
    // The id matters, and it is the pseudonym that is hashed: the raw id lands in another bucket.
    expect(maxDiff(withId, await towerVector(FEATURES, undefined))).toBeGreaterThan(1e-4);
    expect(maxDiff(withId, await towerVector(FEATURES, knownUserId))).toBeGreaterThan(1e-4);
  });
});
