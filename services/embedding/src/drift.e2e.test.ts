// Drift end to end: a real two-tower version (with its training feature profile) served by the real module on
// a real gRPC server (port 0); traffic distributed as training and traffic shifted on purpose go through
// EmbedUsers, and the PSI shows in /metrics and in ModelStatusService/GetDrift. A version trained before
// profiles existed still serves, with drift reported unavailable.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { EmbeddingServiceClient, type EmbedUsersResponse, type GetDriftResponse, ModelStatusServiceClient, type UserFeatures } from "@funnel/proto";
import { FileRegistry } from "@funnel/registry";
import { runServices, type RunningServices } from "@funnel/runtime";
import { serverDrift, writeDriftResult } from "@funnel/training";
import { tinyModelDataset, trainTinyModelDirectory } from "@funnel/training/testing";
import { aggregateUserFeatures, OPTIONAL_MODEL_FILES, type RawUserFeatures, userFeaturesToProto } from "@funnel/two-tower";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddingModule } from "./embedding-module.js";

const SALT = "drift-salt";
const MODEL = "two-tower";
/** Small enough that a few hundred shifted rows replace every unshifted one. */
const WINDOW = 240;

let root: string;
let registry: FileRegistry;
let running: RunningServices;
let client: EmbeddingServiceClient;
let status: ModelStatusServiceClient;
let trainingUsers: RawUserFeatures[];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "embedding-drift-"));
  registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "test" });
  const profiled = path.join(root, "profiled");
  await trainTinyModelDirectory(profiled, { seed: 1, salt: SALT });
  await registry.register(profiled);
  // Version 2 as a model trained before feature profiles existed: no file, no manifest entry.
  const old = path.join(root, "old");
  await trainTinyModelDirectory(old, { seed: 2, salt: SALT });
  await rm(path.join(old, OPTIONAL_MODEL_FILES.featureProfile));
  const manifest = JSON.parse(await readFile(path.join(old, "manifest.json"), "utf8"));
  delete manifest.files[OPTIONAL_MODEL_FILES.featureProfile];
  await writeFile(path.join(old, "manifest.json"), JSON.stringify(manifest));
  await registry.register(old);
  await registry.setAlias(MODEL, "production", 1);
  // The rows the reference profile was built from: every training user's features (sequence length 6).
  trainingUsers = [...aggregateUserFeatures(tinyModelDataset({}).events, { sequenceLength: 6 }).values()];
  running = await runServices([embeddingModule], {
    env: { FUNNEL_PSEUDONYM_SALT: SALT },
    argv: [
      "--port", "0", "--metrics-port", "0", "--log-level", "silent", "--model-cache-dir", path.join(root, "cache"), "--model-poll-ms", "50",
      "--embedding-drift-window", String(WINDOW), "--embedding-drift-min-observations", "50",
    ],
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

async function serve(users: RawUserFeatures[]): Promise<void> {
  for (let start = 0; start < users.length; start += 20) {
    const batch: UserFeatures[] = users.slice(start, start + 20).map(userFeaturesToProto);
    await new Promise<EmbedUsersResponse>((resolve, reject) =>
      client.embedUsers({ users: batch.map((value) => ({ input: { $case: "features", value } })) }, (error, response) => (error ? reject(error) : resolve(response!))),
    );
  }
}

const getDrift = (model = "") =>
  new Promise<GetDriftResponse>((resolve, reject) => status.getDrift({ model }, (error, response) => (error ? reject(error) : resolve(response!))));

/** Drift series of /metrics as { "name{labels}": value }. */
async function driftMetrics(): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${running.metricsPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^(funnel_(?:feature_psi|model_feature_psi|prediction_psi|drift_observations_total)\{[^}]*\}) (\S+)$/.exec(line);
    if (match) out.set(match[1]!, Number(match[2]));
  }
  return out;
}

/** The same users, moved: more sessions, longer ones, all on tablets, every recent page the payment page. */
function shifted(user: RawUserFeatures): RawUserFeatures {
  return {
    ...user,
    device: "tablet",
    sessionCount: (user.sessionCount ?? 1) * 6,
    avgSessionDurationSeconds: (user.avgSessionDurationSeconds ?? 60) * 4,
    recentInteractions: user.recentInteractions?.map((i) => ({ ...i, page: "payment" })),
  };
}

describe("drift", () => {
  it("stays low for traffic distributed as training", async () => {
    // Twice: the second pass is answered from the cache and still counted.
    await serve([...trainingUsers, ...trainingUsers]);
    const metrics = await driftMetrics();
    const labels = '{model="two-tower",version="1"}';
    expect(metrics.get(`funnel_drift_observations_total${labels}`)).toBe(2 * trainingUsers.length);
    expect(metrics.get(`funnel_model_feature_psi${labels}`)).toBeLessThan(0.02);
    expect(metrics.get(`funnel_prediction_psi${labels}`)).toBeLessThan(0.02);
    expect(metrics.get('funnel_feature_psi{model="two-tower",version="1",feature="user.device"}')).toBeLessThan(0.02);
  });

  it("rises past the drift threshold for shifted traffic, in /metrics and GetDrift", async () => {
    const moved = trainingUsers.map(shifted);
    await serve([...moved, ...moved]);
    const metrics = await driftMetrics();
    const labels = '{model="two-tower",version="1"}';
    expect(metrics.get(`funnel_model_feature_psi${labels}`)).toBeGreaterThan(0.25);
    for (const feature of ["user.device", "user.sessionCount", "user.avgSessionDurationSeconds", "user.recentPages"]) {
      expect(metrics.get(`funnel_feature_psi{model="two-tower",version="1",feature="${feature}"}`), feature).toBeGreaterThan(0.25);
    }
    // Features nobody shifted stay where they were.
    expect(metrics.get('funnel_feature_psi{model="two-tower",version="1",feature="user.conversionCount"}')).toBeLessThan(0.02);
    // Item features saw no traffic: no series rather than a made-up 0.
    expect([...metrics.keys()].some((k) => k.includes('feature="item.'))).toBe(false);
    expect(metrics.get(`funnel_prediction_psi${labels}`)).toBeGreaterThan(0.1);

    const [drift] = (await getDrift(MODEL)).models;
    expect(drift).toMatchObject({ name: MODEL, version: "1", kind: "two-tower", available: true, windowCapacity: WINDOW, minObservations: 50 });
    expect(drift!.windowRows).toBeLessThanOrEqual(WINDOW);
    const device = drift!.features.find((f) => f.name === "user.device")!;
    expect(device.bins).toEqual(["desktop", "mobile", "tablet", "(unknown)"]);
    // The window holds only shifted rows now: every live device is a tablet.
    expect(device.live).toEqual([0, 0, 1, 0]);
    expect(device.reference.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(device.psi).toBeCloseTo(metrics.get('funnel_feature_psi{model="two-tower",version="1",feature="user.device"}')!, 9);
    await expect(getDrift("nope")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: expect.stringContaining('ask for "two-tower"') });
  });

  it("is what `npm run drift -- --server` reports, with an HTML chart per feature", async () => {
    const [drift] = await serverDrift(`127.0.0.1:${running.port}`, MODEL, 5_000);
    const report = path.join(root, "live-drift.html");
    const result = await writeDriftResult([drift!], { source: "server", thresholds: { watch: 0.1, drift: 0.25 }, report });
    expect((result.models as { drifted: string[] }[])[0]!.drifted).toEqual(expect.arrayContaining(["user.device", "user.recentPages"]));
    const html = await readFile(report, "utf8");
    expect(html.match(/<svg /g)).toHaveLength(drift!.features.length + 1);
    await expect(serverDrift(`127.0.0.1:${running.port}`, "nope", 5_000)).rejects.toThrow(/GetDrift on 127\.0\.0\.1:\d+ failed: model "nope"/);
  });

  it("serves a version without a reference profile and reports its drift unavailable", async () => {
    await registry.setAlias(MODEL, "production", 2);
    const until = Date.now() + 20_000;
    while ((await getDrift()).models[0]?.version !== "2" && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    await serve(trainingUsers.slice(0, 20));
    const [drift] = (await getDrift()).models;
    expect(drift).toMatchObject({ version: "2", available: false, features: [], observations: 0 });
    expect(drift!.unavailableReason).toContain("has no feature-profile.json");
    const metrics = await driftMetrics();
    expect([...metrics.keys()].filter((k) => k.includes('version="2"'))).toEqual([]);
    // Version 1's series left with it.
    expect([...metrics.keys()].filter((k) => k.includes('version="1"'))).toEqual([]);
  });
});
