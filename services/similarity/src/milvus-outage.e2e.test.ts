// Fault injection: the Milvus behind SimilarityService (a real `milvus-lite server`) is killed while calls are
// running, then started again on the same port and data. Calls must fail fast (UNAVAILABLE, or at worst
// DEADLINE_EXCEEDED at their deadline; never a hang, never INTERNAL) and succeed again by themselves once
// Milvus is back, without a restart of the service.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { DeviceType, type FindSimilarUsersResponse, SimilarityServiceClient } from "@funnel/proto";
import { FileRegistry } from "@funnel/registry";
import { runServices, type RunningServices } from "@funnel/runtime";
import { checkHealth } from "@funnel/runtime/testing";
import { trainTinyModelDirectory } from "@funnel/training/testing";
import { findMilvusLite, startMilvusLite, type MilvusLiteServer } from "@funnel/vector-index/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { similarityModule } from "./similarity-module.js";

const SALT = "outage-salt";
const DEADLINE_MS = 2_000;
const executable = await findMilvusLite(process.env.PATH ?? "");

describe.skipIf(!executable)("SimilarityService while its Milvus stops and comes back", () => {
  let root: string;
  let milvus: MilvusLiteServer;
  let running: RunningServices;
  let client: SimilarityServiceClient;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "similarity-milvus-outage-"));
    milvus = await startMilvusLite(executable!, { dataDir: path.join(root, "milvus") });
    running = await startSimilarity(root, milvus.address, 1);
    client = new SimilarityServiceClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
  }, 180_000);

  afterAll(async () => {
    client?.close();
    await running?.shutdown();
    await milvus?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const find = () => {
    const started = performance.now();
    return new Promise<{ code: string; ms: number; details: string }>((resolve) =>
      client.findSimilarUsers(
        { query: { $case: "features", value: { device: DeviceType.DEVICE_TYPE_MOBILE, recentInteractions: [] } }, topK: 5 },
        new grpc.Metadata(),
        { deadline: Date.now() + DEADLINE_MS },
        (error: grpc.ServiceError | null, _response?: FindSimilarUsersResponse) =>
          resolve({ code: error ? grpc.status[error.code]! : "OK", ms: performance.now() - started, details: error?.details ?? "" }),
      ),
    );
  };

  /** Calls in a loop (4 in parallel) until `done`. */
  async function callUntil(done: (last: { code: string }) => boolean | Promise<boolean>, timeoutMs: number) {
    const outcomes: { code: string; ms: number; details: string }[] = [];
    const until = Date.now() + timeoutMs;
    for (;;) {
      const batch = await Promise.all([find(), find(), find(), find()]);
      outcomes.push(...batch);
      if (await done(batch[batch.length - 1]!)) return outcomes;
      if (Date.now() > until) throw new Error(`not done within ${timeoutMs} ms: ${JSON.stringify(outcomes.slice(-4))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it("fails fast with UNAVAILABLE while Milvus is down, reports NOT_SERVING, and recovers by itself when it is back", async () => {
    expect((await find()).code).toBe("OK");
    const address = `127.0.0.1:${running.port}`;
    const port = milvus.port;
    // Killed while calls are running.
    const downCalls = callUntil(async (last) => last.code === "UNAVAILABLE" && (await checkHealth(address, "funnel.v1.SimilarityService")) === "NOT_SERVING", 30_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await milvus.stop();
    const down = await downCalls;
    // Liveness asks the process, not readiness: a Milvus outage must not make Kubernetes restart the pod.
    expect(await checkHealth(address, "liveness")).toBe("SERVING");
    expect(await checkHealth(address, "")).toBe("NOT_SERVING");
    milvus = await startMilvusLite(executable!, { port, dataDir: milvus.dataDir });
    const back = await callUntil((last) => last.code === "OK", 60_000);
    const all = [...down, ...back];
    const codes = [...new Set(all.map((o) => o.code))].sort();
    console.log(`milvus outage: ${JSON.stringify({ calls: all.length, codes: Object.fromEntries(codes.map((c) => [c, all.filter((o) => o.code === c).length])), slowestMs: Math.round(Math.max(...all.map((o) => o.ms))) })}`);
    expect(codes.filter((c) => !["OK", "UNAVAILABLE", "DEADLINE_EXCEEDED"].includes(c))).toEqual([]);
    expect(all.find((o) => o.code === "UNAVAILABLE")?.details).toMatch(/Milvus|not serving|unavailable/i);
    // Never a hang: every answer by its deadline (plus scheduling slack on a busy machine).
    for (const outcome of all) expect(outcome.ms).toBeLessThan(DEADLINE_MS + 1_000);
    expect(await checkHealth(address, "funnel.v1.SimilarityService")).toBe("SERVING");
    expect((await find()).code).toBe("OK");
  }, 150_000);
});

describe.skipIf(!executable)("SimilarityService started while its Milvus is down", () => {
  let root: string;
  let milvus: MilvusLiteServer | undefined;
  let running: RunningServices | undefined;

  afterAll(async () => {
    await running?.shutdown();
    await milvus?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("starts NOT_SERVING (alive, no crash) and serves once Milvus answers", async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "similarity-milvus-late-"));
    // A port where Milvus will be: started once to pick it, then stopped before the service starts.
    const dataDir = path.join(root, "milvus");
    const first = await startMilvusLite(executable!, { dataDir });
    const port = first.port;
    await first.stop();
    // Resolves (before this change it threw, and the process exited: a crash loop under Kubernetes).
    running = await startSimilarity(root, `127.0.0.1:${port}`, 2);
    const address = `127.0.0.1:${running.port}`;
    expect(await checkHealth(address, "funnel.v1.SimilarityService")).toBe("NOT_SERVING");
    expect(await checkHealth(address, "liveness")).toBe("SERVING");
    const client = new SimilarityServiceClient(address, grpc.credentials.createInsecure());
    try {
      const query = { query: { $case: "features" as const, value: { device: DeviceType.DEVICE_TYPE_MOBILE, recentInteractions: [] } }, topK: 5 };
      let details = "";
      const call = () =>
        new Promise<string>((resolve) =>
          client.findSimilarUsers(query, new grpc.Metadata(), { deadline: Date.now() + DEADLINE_MS }, (error) => {
            details = error?.details ?? "";
            resolve(error ? grpc.status[error.code]! : "OK");
          }),
        );
      expect(await call()).toBe("UNAVAILABLE");
      // The caller is told the cause (the vector store), not "models are still loading".
      expect(details).toContain(`Milvus at 127.0.0.1:${port} does not answer`);
      // Still waiting, still alive, after several checks.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await checkHealth(address, "funnel.v1.SimilarityService")).toBe("NOT_SERVING");
      milvus = await startMilvusLite(executable!, { port, dataDir });
      const until = Date.now() + 90_000;
      while ((await checkHealth(address, "funnel.v1.SimilarityService")) !== "SERVING") {
        if (Date.now() > until) throw new Error("not SERVING 90 s after Milvus came back");
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(await call()).toBe("OK");
      expect(await checkHealth(address, "")).toBe("SERVING");
    } finally {
      client.close();
    }
  }, 180_000);
});

/** A similarity server on a tiny registered model under `root`, its index in the Milvus at `milvusAddress`. */
async function startSimilarity(root: string, milvusAddress: string, seed: number): Promise<RunningServices> {
  const registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "test" });
  await trainTinyModelDirectory(path.join(root, "model"), { seed, salt: SALT });
  await registry.register(path.join(root, "model"));
  await registry.setAlias("two-tower", "production", 1);
  return runServices([similarityModule], {
    env: { FUNNEL_PSEUDONYM_SALT: SALT },
    argv: [
      ...["--port", "0", "--metrics-port", "-1", "--log-level", "silent", "--model-cache-dir", path.join(root, "cache"), "--model-poll-ms", "0"],
      ...["--milvus-address", milvusAddress, "--milvus-check-ms", "250"],
    ],
    modelSource: registry,
  });
}
