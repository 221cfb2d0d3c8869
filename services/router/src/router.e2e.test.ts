// End to end: two real Embedding services pinned to two versions of a real file registry (v1 = control,
// v2 = treatment), the router in front with a real experiment file, called over real gRPC. The served
// model version in each answer shows which variant answered.
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { embeddingModule } from "@funnel/embedding";
import {
  DeviceType,
  EmbeddingServiceClient,
  ExperimentServiceClient,
  type EmbedUsersRequest,
  type EmbedUsersResponse,
  type ExperimentSummary,
  type GetExperimentSummaryResponse,
  type ReportOutcomeResponse,
} from "@funnel/proto";
import { FileRegistry } from "@funnel/registry";
import { runServices, type RunningServices } from "@funnel/runtime";
import { checkHealth } from "@funnel/runtime/testing";
import { tinyModelDataset, trainTinyModelDirectory } from "@funnel/training/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assignVariant } from "./assign-variant.js";
import { routerModule } from "./router-module.js";

const SALT = "e2e-salt";
const SPLIT_SALT = "two-tower-e2e";
const USERS = Array.from({ length: 10_000 }, (_, i) => `visitor-${String(i + 1).padStart(6, "0")}`);
const VERSION_OF: Record<string, string> = { control: "1", treatment: "2" };

let root: string;
let configFile: string;
let control: RunningServices;
let treatment: RunningServices;
let router: RunningServices;
let direct: EmbeddingServiceClient;
let viaRouter: EmbeddingServiceClient;
let experiments: ExperimentServiceClient;
let knownUserId: string;

function experimentYaml(options: { treatmentWeight?: number; shadowShare?: number } = {}): string {
  const shadow = options.shadowShare === undefined ? "" : `    shadow: { share: ${options.shadowShare}, upstream: "127.0.0.1:${treatment.port}" }\n`;
  return `experiments:
  - name: two-tower-embedding
    service: funnel.v1.EmbeddingService
    salt: ${SPLIT_SALT}
    variants:
      - { name: control, weight: ${100 - (options.treatmentWeight ?? 10)}, upstream: "dns:///127.0.0.1:${control.port}" }
      - { name: treatment, weight: ${options.treatmentWeight ?? 10}, upstream: "127.0.0.1:${treatment.port}" }
${shadow}guardrails: { maxErrorRate: 0.2, maxP99Ms: 10000, windowSeconds: 30, minCalls: 20 }
upstreamDefaults: { deadlineMs: 10000, retries: 1, circuitBreaker: { failureRate: 0.5, openSeconds: 30, minCalls: 10 } }
`;
}

/** Replaces the file the way a ConfigMap update does: a new file renamed over the old one. */
async function writeConfig(text: string): Promise<void> {
  const temporary = `${configFile}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, configFile);
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "router-e2e-"));
  const registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "test" });
  knownUserId = tinyModelDataset({}).events[0]!.userId;
  for (const seed of [1, 2]) {
    const dir = path.join(root, `model-${seed}`);
    await trainTinyModelDirectory(dir, { seed, salt: SALT });
    await registry.register(dir);
  }
  const embedding = (version: number) =>
    runServices([embeddingModule], {
      env: { FUNNEL_PSEUDONYM_SALT: SALT },
      argv: ["--port", "0", "--metrics-port", "-1", "--log-level", "silent", "--model-cache-dir", path.join(root, `cache-${version}`), "--embedding-model-ref", String(version)],
      modelSource: registry,
    });
  [control, treatment] = await Promise.all([embedding(1), embedding(2)]);
  await mkdir(path.join(root, "experiments"));
  configFile = path.join(root, "experiments", "experiments.yaml");
  await writeConfig(experimentYaml());
  router = await runServices([routerModule], {
    env: {},
    argv: ["--port", "0", "--metrics-port", "-1", "--log-level", "silent", "--router-experiments", configFile, "--router-reload-debounce-ms", "50"],
  });
  direct = new EmbeddingServiceClient(`127.0.0.1:${control.port}`, grpc.credentials.createInsecure());
  viaRouter = new EmbeddingServiceClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
  experiments = new ExperimentServiceClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
}, 240_000);

afterAll(async () => {
  for (const client of [direct, viaRouter, experiments]) client?.close();
  await Promise.all([router?.shutdown(), control?.shutdown(), treatment?.shutdown()]);
  await rm(root, { recursive: true, force: true });
});

const byFeatures: EmbedUsersRequest = {
  users: [{ input: { $case: "features", value: { device: DeviceType.DEVICE_TYPE_DESKTOP, sessionCount: 2, avgSessionDurationSeconds: 60, interactionCount: 5, recentInteractions: [] } } }],
};

function embed(client: EmbeddingServiceClient, request: EmbedUsersRequest, headers: Record<string, string> = {}): Promise<EmbedUsersResponse> {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return new Promise((resolve, reject) => client.embedUsers(request, metadata, (error, response) => (error ? reject(error) : resolve(response!))));
}

/** The served version for each user (features in the body, the user in x-user-id), `concurrency` calls at a time. */
async function versionsOf(users: readonly string[], concurrency = 32): Promise<string[]> {
  const versions: string[] = new Array(users.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < users.length) {
        const i = next++;
        versions[i] = (await embed(viaRouter, byFeatures, { "x-user-id": users[i]! })).model?.version ?? "";
      }
    }),
  );
  return versions;
}

const summary = () =>
  new Promise<GetExperimentSummaryResponse>((resolve, reject) =>
    experiments.getExperimentSummary({ experiment: "" }, (error, response) => (error ? reject(error) : resolve(response!))),
  );
const embeddingSummary = async (): Promise<ExperimentSummary> => (await summary()).experiments.find((e) => e.name === "two-tower-embedding")!;
const reportOutcome = (userId: string) =>
  new Promise<ReportOutcomeResponse>((resolve, reject) =>
    experiments.reportOutcome({ experiment: "two-tower-embedding", userId }, (error, response) => (error ? reject(error) : resolve(response!))),
  );

async function waitFor(predicate: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const split = { salt: SPLIT_SALT, variants: [{ name: "control", weight: 90 }, { name: "treatment", weight: 10 }] };

describe("router in front of two model versions", () => {
  it("is SERVING for the routed service, NOT_SERVING for services no experiment routes", async () => {
    expect(await checkHealth(`127.0.0.1:${router.port}`, "funnel.v1.EmbeddingService")).toBe("SERVING");
    expect(await checkHealth(`127.0.0.1:${router.port}`, "funnel.v1.ExperimentService")).toBe("SERVING");
    expect(await checkHealth(`127.0.0.1:${router.port}`, "funnel.v1.SentimentService")).toBe("NOT_SERVING");
  });

  let firstVersions: string[];
  it("splits 10,000 users 90/10 within 1.5 points, each exactly as the pure split function assigns", async () => {
    firstVersions = await versionsOf(USERS);
    const treatmentShare = firstVersions.filter((v) => v === "2").length / USERS.length;
    expect(Math.abs(treatmentShare - 0.1)).toBeLessThan(0.015);
    expect(firstVersions.every((v) => v === "1" || v === "2")).toBe(true);
    const mismatches = USERS.filter((user, i) => VERSION_OF[assignVariant(user, split)!] !== firstVersions[i]);
    expect(mismatches).toEqual([]);
    const variants = (await embeddingSummary()).variants;
    expect(variants.map((v) => [v.name, v.calls, v.modelVersions])).toEqual([
      ["control", USERS.length - firstVersions.filter((v) => v === "2").length, ["1"]],
      ["treatment", firstVersions.filter((v) => v === "2").length, ["2"]],
    ]);
    // The runtime's per-call metrics carry the variant and the model version that answered.
    const metrics = await router.server.metrics.registry.getSingleMetricAsString("funnel_grpc_requests_total");
    expect(metrics).toMatch(/funnel_grpc_requests_total\{method="EmbeddingService\/EmbedUsers",code="OK",model_version="2",variant="treatment"\} \d+/);
    expect(metrics).toMatch(/funnel_grpc_requests_total\{method="EmbeddingService\/EmbedUsers",code="OK",model_version="1",variant="control"\} \d+/);
  }, 180_000);

  it("is sticky: the same users get the same version again; an id in the body routes like the header", async () => {
    const sample = USERS.filter((_, i) => i % 10 === 0);
    expect(await versionsOf(sample)).toEqual(sample.map((u) => firstVersions[USERS.indexOf(u)]));
    const byBody = await embed(viaRouter, { users: [{ input: { $case: "userId", value: knownUserId } }] });
    expect(byBody.model?.version).toBe(VERSION_OF[assignVariant(knownUserId, split)!]);
  }, 60_000);

  it("honours the override header and rejects an unknown variant with INVALID_ARGUMENT", async () => {
    // No user id (so no user is counted for a variant it was not split to): the split alone would pick control 9 times in 10.
    for (let i = 0; i < 20; i++) expect((await embed(viaRouter, byFeatures, { "x-funnel-variant": "treatment" })).model?.version).toBe("2");
    await expect(embed(viaRouter, byFeatures, { "x-funnel-variant": "blue" })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('unknown variant "blue" of experiment "two-tower-embedding"; use one of: control, treatment'),
    });
  });

  it("passes upstream errors through with their status", async () => {
    await expect(embed(viaRouter, { users: [{ input: { $case: "userId", value: "nobody-at-all" } }] }, { "x-funnel-variant": "control" })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });

  it("reports outcomes per serving variant, with a two-proportion z-test in the summary", async () => {
    // Every treatment user converts, one control user in ten does: a difference the z-test must call.
    const converters = USERS.filter((_, i) => firstVersions[i] === "2" || i % 10 === 0);
    for (const user of converters) expect((await reportOutcome(user)).counted).toBe(true);
    expect(await reportOutcome("never-routed")).toMatchObject({ counted: false });
    const { variants, comparisons } = await embeddingSummary();
    expect(variants[1]!.successRate).toBe(1);
    expect(variants[0]!.successRate).toBeGreaterThan(0.05);
    expect(variants[0]!.successRate).toBeLessThan(0.15);
    expect(comparisons[0]).toMatchObject({ control: "control", treatment: "treatment" });
    expect(comparisons[0]!.z).toBeGreaterThan(10);
    expect(comparisons[0]!.pValue).toBeLessThan(1e-6);
  }, 60_000);

  it("mirrors shadow traffic to the candidate without changing answers", async () => {
    await writeConfig(experimentYaml({ shadowShare: 1 }));
    await waitFor(async () => (await embeddingSummary()).shadow !== undefined, "the shadow config to load");
    const before = await embedUsersCalls(treatment);
    const controlUsers = USERS.filter((_, i) => firstVersions[i] === "1").slice(0, 50);
    for (const user of controlUsers) {
      const [routed, answeredDirectly] = await Promise.all([embed(viaRouter, byFeatures, { "x-user-id": user }), embed(direct, byFeatures)]);
      expect(routed).toEqual(answeredDirectly);
      expect(routed.model?.version).toBe("1");
    }
    await waitFor(async () => ((await embeddingSummary()).shadow?.calls ?? 0) >= controlUsers.length, "shadow answers to be recorded");
    const shadow = (await embeddingSummary()).shadow!;
    expect(shadow).toMatchObject({ share: 1, errors: 0, matchingAnswers: 0 }); // v2's answers differ from v1's
    expect((await embedUsersCalls(treatment)) - before).toBeGreaterThanOrEqual(controlUsers.length);
  }, 60_000);

  it("rejects an invalid config with its reason and keeps routing with the last good one", async () => {
    await writeConfig(experimentYaml({ treatmentWeight: 10 }).replace("weight: 10,", "weight: -5,"));
    await waitFor(async () => (await summary()).configError !== "", "the bad config to be rejected");
    expect((await summary()).configError).toMatch(/experiments.0.variants.1.weight/);
    const sample = USERS.slice(0, 300);
    expect(await versionsOf(sample)).toEqual(firstVersions.slice(0, 300));
    expect((await embeddingSummary()).shadow?.share).toBe(1);
    // A good file again clears the error and is applied (50/50 now).
    await writeConfig(experimentYaml({ treatmentWeight: 50 }));
    await waitFor(async () => (await summary()).configError === "" && (await embeddingSummary()).variants[1]!.weight === 50, "the good config to load");
  }, 60_000);

  it("takes a failing variant out of rotation (guardrail) and serves its users from the others", async () => {
    await treatment.shutdown();
    const treatmentUsers = USERS.filter((u) => assignVariant(u, { salt: SPLIT_SALT, variants: [{ name: "control", weight: 50 }, { name: "treatment", weight: 50 }] }) === "treatment");
    const failures: grpc.ServiceError[] = [];
    for (const user of treatmentUsers.slice(0, 40)) {
      await embed(viaRouter, byFeatures, { "x-user-id": user }).catch((error: grpc.ServiceError) => failures.push(error));
    }
    expect(failures.length).toBeGreaterThanOrEqual(20);
    expect(failures[0]).toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringContaining('variant "treatment" of experiment "two-tower-embedding"') });
    await waitFor(async () => !(await embeddingSummary()).variants[1]!.inRotation, "the guardrail to eject treatment");
    const { variants, guardrailEvents } = await embeddingSummary();
    expect(variants[1]!.errorsByCode.find((c) => c.code === "UNAVAILABLE")!.count).toBeGreaterThanOrEqual(20);
    expect(guardrailEvents).toEqual([expect.objectContaining({ variant: "treatment", reason: expect.stringMatching(/^error rate 1\.000 > 0\.2 over \d+ calls$/) })]);
    // Former treatment users now get control (v1) answers; control users keep theirs.
    expect(new Set(await versionsOf(treatmentUsers.slice(0, 200)))).toEqual(new Set(["1"]));
  }, 60_000);
});

/** EmbedUsers calls a service has answered, from its own Prometheus registry. */
async function embedUsersCalls(services: RunningServices): Promise<number> {
  const text = await services.server.metrics.registry.getSingleMetricAsString("funnel_grpc_requests_total");
  return text
    .split("\n")
    .filter((line) => line.includes('method="EmbeddingService/EmbedUsers"'))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}
