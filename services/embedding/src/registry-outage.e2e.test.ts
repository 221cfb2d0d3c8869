// Fault injection: the model registry (a real MLflow server behind a real HTTP proxy that can answer 503)
// fails while the service follows an alias. Calls keep being answered by the last good version, and the
// swap happens by itself once the registry is back, whether the outage hit the alias lookup or the download.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { DeviceType, EmbeddingServiceClient, ModelStatusServiceClient, type EmbedUsersResponse, type ListModelsResponse } from "@funnel/proto";
import { MlflowRegistry } from "@funnel/registry";
import { startFaultProxy, type FaultProxy } from "@funnel/registry/testing";
import { runServices, type RunningServices } from "@funnel/runtime";
import { trainTinyModelDirectory } from "@funnel/training/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { embeddingModule } from "./embedding-module.js";

const SALT = "outage-salt";
const mlflowUrl = inject("mlflowUrl");

describe.skipIf(mlflowUrl === null)("EmbeddingService while the MLflow registry fails", () => {
  // The MLflow server is this run's own (global setup), so the model name the tiny models carry is free.
  const model = "two-tower";
  let root: string;
  let proxy: FaultProxy;
  let registry: MlflowRegistry;
  let running: RunningServices;
  let client: EmbeddingServiceClient;
  let status: ModelStatusServiceClient;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "embedding-outage-"));
    proxy = await startFaultProxy(mlflowUrl as string);
    // Registered and moved straight on MLflow; the service reads it through the proxy only.
    registry = new MlflowRegistry({ url: mlflowUrl as string, actor: "test" });
    for (const seed of [1, 2]) {
      await trainTinyModelDirectory(path.join(root, `model-${seed}`), { seed, salt: SALT });
      await registry.register(path.join(root, `model-${seed}`));
    }
    await registry.setAlias(model, "production", 1);
    running = await runServices([embeddingModule], {
      env: { FUNNEL_PSEUDONYM_SALT: SALT },
      argv: [
        ...["--port", "0", "--metrics-port", "-1", "--log-level", "silent"],
        ...["--registry", "mlflow", "--mlflow-tracking-uri", proxy.url],
        ...["--model-cache-dir", path.join(root, "cache"), "--model-poll-ms", "100"],
      ],
    });
    client = new EmbeddingServiceClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
    status = new ModelStatusServiceClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
  }, 180_000);

  afterAll(async () => {
    client?.close();
    status?.close();
    await running?.shutdown();
    await proxy?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const embed = () =>
    new Promise<EmbedUsersResponse>((resolve, reject) =>
      client.embedUsers({ users: [{ input: { $case: "features", value: { device: DeviceType.DEVICE_TYPE_MOBILE, recentInteractions: [] } } }] }, new grpc.Metadata(), { deadline: Date.now() + 5_000 }, (e, r) =>
        e ? reject(e) : resolve(r!),
      ),
    );
  const slot = async () =>
    (await new Promise<ListModelsResponse>((resolve, reject) => status.listModels({}, (e, r) => (e ? reject(e) : resolve(r!))))).models[0]!;

  /** Calls in a loop until `done`, returning every answered version and every failure. */
  async function callWhile(done: () => Promise<boolean>, timeoutMs: number): Promise<{ versions: string[]; failures: unknown[] }> {
    const versions: string[] = [];
    const failures: unknown[] = [];
    const until = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > until) throw new Error(`not done within ${timeoutMs} ms; answered versions ${[...new Set(versions)]}, last slot error ${(await slot()).lastError}`);
      await embed().then(
        (r) => versions.push(r.model!.version),
        (e: unknown) => failures.push(e),
      );
    }
    return { versions, failures };
  }

  it("keeps serving the last good version while the registry answers 503 to everything, and swaps once it is back", async () => {
    expect((await embed()).model!.version).toBe("1");
    proxy.failNext(Number.MAX_SAFE_INTEGER);
    await registry.setAlias(model, "production", 2);
    const failedBefore = proxy.failed;
    // The outage lasts until the service has been turned away several times (retries and polls).
    const during = await callWhile(async () => proxy.failed - failedBefore >= 10, 60_000);
    expect(during.failures).toEqual([]);
    expect(new Set(during.versions)).toEqual(new Set(["1"]));
    expect((await slot()).lastError).toMatch(/unavailable/i);

    proxy.failNext(0);
    const after = await callWhile(async () => (await slot()).version === "2", 30_000);
    expect(after.failures).toEqual([]);
    expect((await embed()).model!.version).toBe("2");
  }, 120_000);

  it("retries a download the registry broke off with 503 on the next poll, not as a refused version", async () => {
    expect((await embed()).model!.version).toBe("2");
    // Alias lookups (which read the manifest) work, the ONNX files' downloads fail: the version itself is fine.
    proxy.failMatching = /\.onnx$/;
    await registry.setAlias(model, "production", 1);
    const failedBefore = proxy.failed;
    const during = await callWhile(async () => (await slot()).lastErrorVersion === "1" && proxy.failed > failedBefore, 60_000);
    expect(during.failures).toEqual([]);
    expect(new Set(during.versions)).toEqual(new Set(["2"]));

    proxy.failMatching = undefined;
    // Well within the minute a refused version waits before it is tried again.
    const after = await callWhile(async () => (await slot()).version === "1", 30_000);
    expect(after.failures).toEqual([]);
  }, 120_000);
});
