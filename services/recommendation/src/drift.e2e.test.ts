// Drift end to end through the Recommendation service: a real two-tower version (with its training feature
// profile) served on a real gRPC server (port 0) together with the Embedding service, as the embedded platform
// runs them. The two load the version into different slots (towers vs towers + indexes); every feature row a
// caller sends to either is counted once into the version's one rolling profile, users asked by id and the
// made-up cold-start user are not, and shifted raw-feature traffic to RecommendItems raises the PSI in /metrics
// and ModelStatusService/GetDrift.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { embeddingModule } from "@funnel/embedding";
import {
  EmbeddingServiceClient,
  type GetDriftResponse,
  ModelStatusServiceClient,
  RecommendationServiceClient,
  type RecommendItemsRequest,
  type UserFeatures,
} from "@funnel/proto";
import { FileRegistry } from "@funnel/registry";
import { runServices, type RunningServices } from "@funnel/runtime";
import { driftMetricsOf } from "@funnel/runtime/testing";
import { shiftedUser, tinyModelDataset, trainTinyModelDirectory } from "@funnel/training/testing";
import { aggregateUserFeatures, type RawUserFeatures, userFeaturesToProto } from "@funnel/two-tower";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recommendationModule } from "./recommendation-module.js";

const SALT = "drift-salt";
const MODEL = "two-tower";
/** Small enough that a few hundred shifted rows replace every unshifted one. */
const WINDOW = 240;
const LABELS = '{model="two-tower",version="1"}';

let root: string;
let running: RunningServices;
let recommendation: RecommendationServiceClient;
let embedding: EmbeddingServiceClient;
let status: ModelStatusServiceClient;
let trainingUsers: RawUserFeatures[];
let knownUserId: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "recommendation-drift-"));
  const registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "test" });
  const dir = path.join(root, "model");
  await trainTinyModelDirectory(dir, { seed: 1, salt: SALT });
  await registry.register(dir);
  await registry.setAlias(MODEL, "production", 1);
  // The rows the reference profile was built from: every training user's features (sequence length 6).
  const events = tinyModelDataset({}).events;
  trainingUsers = [...aggregateUserFeatures(events, { sequenceLength: 6 }).values()];
  knownUserId = events[0]!.userId;
  running = await runServices([recommendationModule, embeddingModule], {
    env: { FUNNEL_PSEUDONYM_SALT: SALT },
    argv: [
      "--port", "0", "--metrics-port", "0", "--log-level", "silent", "--model-cache-dir", path.join(root, "cache"),
      "--drift-window", String(WINDOW), "--drift-min-observations", "50",
    ],
    modelSource: registry,
  });
  const address = `127.0.0.1:${running.port}`;
  recommendation = new RecommendationServiceClient(address, grpc.credentials.createInsecure());
  embedding = new EmbeddingServiceClient(address, grpc.credentials.createInsecure());
  status = new ModelStatusServiceClient(address, grpc.credentials.createInsecure());
}, 180_000);

afterAll(async () => {
  recommendation?.close();
  embedding?.close();
  status?.close();
  await running?.shutdown();
  await rm(root, { recursive: true, force: true });
});

const recommend = (request: Partial<RecommendItemsRequest>) =>
  new Promise<void>((resolve, reject) => recommendation.recommendItems({ userId: "", topK: 5, excludeItemIds: [], ...request }, (e) => (e ? reject(e) : resolve())));

/** One RecommendItems call per user with raw features, 20 at a time. */
async function recommendFor(users: RawUserFeatures[]): Promise<void> {
  for (let start = 0; start < users.length; start += 20) {
    await Promise.all(users.slice(start, start + 20).map((u) => recommend({ features: userFeaturesToProto(u) })));
  }
}

const embedUsers = (users: RawUserFeatures[]) =>
  new Promise<void>((resolve, reject) =>
    embedding.embedUsers({ users: users.map((u) => ({ input: { $case: "features", value: userFeaturesToProto(u) as UserFeatures } })) }, (e) => (e ? reject(e) : resolve())),
  );

const getDrift = () => new Promise<GetDriftResponse>((resolve, reject) => status.getDrift({ model: MODEL }, (e, r) => (e ? reject(e) : resolve(r!))));

describe("drift through Recommendation (embedded with Embedding)", () => {
  it("counts each sent feature row once into the version's one profile, whichever service encoded it", async () => {
    const half = Math.floor(trainingUsers.length / 2);
    await recommendFor(trainingUsers.slice(0, half));
    await embedUsers(trainingUsers.slice(half));
    // Not counted: a user asked by id (stored vector, no features sent) and the cold-start user the service
    // makes up for a guidance call without a user.
    await recommend({ userId: knownUserId });
    await new Promise<void>((resolve, reject) => recommendation.guideNextStep({ userId: "" }, (e) => (e ? reject(e) : resolve())));

    const metrics = await driftMetricsOf(running.metricsPort);
    expect(metrics.get(`funnel_drift_observations_total${LABELS}`)).toBe(trainingUsers.length);
    expect([...metrics.keys()].filter((k) => k.startsWith("funnel_drift_observations_total"))).toHaveLength(1);
    // Exactly the training rows, split across two services, add up to the reference distribution.
    expect(metrics.get(`funnel_model_feature_psi${LABELS}`)).toBeLessThan(0.02);
    expect(metrics.get(`funnel_prediction_psi${LABELS}`)).toBeLessThan(0.02);
    const drifts = (await getDrift()).models;
    expect(drifts).toHaveLength(1);
    expect(drifts[0]).toMatchObject({ version: "1", available: true, observations: trainingUsers.length, windowCapacity: WINDOW, minObservations: 50 });
  });

  it("rises past the drift threshold for shifted raw-feature traffic to RecommendItems, in /metrics and GetDrift", async () => {
    const moved = trainingUsers.map(shiftedUser);
    await recommendFor([...moved, ...moved]);
    const metrics = await driftMetricsOf(running.metricsPort);
    expect(metrics.get(`funnel_model_feature_psi${LABELS}`)).toBeGreaterThan(0.25);
    for (const feature of ["user.device", "user.sessionCount", "user.avgSessionDurationSeconds", "user.recentPages"]) {
      expect(metrics.get(`funnel_feature_psi{model="two-tower",version="1",feature="${feature}"}`), feature).toBeGreaterThan(0.25);
    }
    expect(metrics.get('funnel_feature_psi{model="two-tower",version="1",feature="user.conversionCount"}')).toBeLessThan(0.02);
    expect(metrics.get(`funnel_prediction_psi${LABELS}`)).toBeGreaterThan(0.1);

    const [drift] = (await getDrift()).models;
    expect(drift!.observations).toBe(3 * trainingUsers.length);
    const device = drift!.features.find((f) => f.name === "user.device")!;
    // The window holds only shifted rows now: every live device is a tablet.
    expect(device.live).toEqual([0, 0, 1, 0]);
    expect(device.psi).toBeCloseTo(metrics.get('funnel_feature_psi{model="two-tower",version="1",feature="user.device"}')!, 9);
  });
});
