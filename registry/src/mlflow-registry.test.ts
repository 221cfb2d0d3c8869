import { randomBytes } from "node:crypto";
import axios from "axios";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { RegistryUnavailableError, VersionNotFoundError } from "./errors.js";
import { MlflowRegistry } from "./mlflow-registry.js";
import { makeModelDir } from "./test-support/make-model-dir.js";
import { startFaultProxy, type FaultProxy } from "./test-support/start-fault-proxy.js";

const mlflowUrl = inject("mlflowUrl");

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address ? address.port : 1;
}

describe("MlflowRegistry when the server is unreachable", () => {
  it("retries and then raises RegistryUnavailableError naming the URL", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const registry = new MlflowRegistry({ url, actor: "t", retries: 2, backoffMs: 5 });
    const err = await registry.listModels().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryUnavailableError);
    expect((err as Error).message).toContain(url);
    expect((err as Error).message).toContain("after 3 attempts");
  });
});

describe.skipIf(mlflowUrl === null)("MlflowRegistry against a real server with injected faults", () => {
  let proxy: FaultProxy;
  let work: string;
  beforeAll(async () => {
    proxy = await startFaultProxy(mlflowUrl as string);
    work = await mkdtemp(path.join(tmpdir(), "mlflow-faults-"));
  });
  afterAll(async () => {
    await proxy.close();
    await rm(work, { recursive: true, force: true });
  });

  it("stores a version as a run with metrics (names MLflow refuses, like recall@10, made legal), params, lineage tags and the training config", async () => {
    const model = `run-${randomBytes(4).toString("hex")}`;
    const registry = new MlflowRegistry({ url: mlflowUrl as string, actor: "carol" });
    const { dir, manifest } = await makeModelDir({ name: model, metrics: { "recall@10": 0.25, ndcg: 0.125 }, parent: work });
    const version = await registry.register(dir);
    // Promotion compares the manifest's metrics: they keep the names training gave them.
    expect(version.manifest.metrics).toEqual({ "recall@10": 0.25, ndcg: 0.125 });
    expect(version.runId).toMatch(/^[0-9a-f]{32}$/);

    const api = `${mlflowUrl}/api/2.0`;
    const { data } = await axios.get(`${api}/mlflow/runs/get`, { params: { run_id: version.runId } });
    const run = data.run as {
      info: { status: string; artifact_uri: string };
      data: { metrics: { key: string; value: number }[]; params: { key: string; value: string }[]; tags: { key: string; value: string }[] };
    };
    expect(run.info.status).toBe("FINISHED");
    expect(Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]))).toEqual({ recall_at_10: 0.25, ndcg: 0.125 });
    expect(Object.fromEntries(run.data.params.map((p) => [p.key, p.value]))).toEqual({ epochs: "2", optimizer: "adam", normalize: "true" });
    const tags = Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({
      "funnel.data_fingerprint": manifest.lineage.dataFingerprint,
      "mlflow.source.git.commit": "0123abc",
      "funnel.seed": "42",
      "funnel.registered_by": "carol",
      "funnel.feature_spec_sha256": manifest.files["feature-spec.json"]?.sha256,
    });
    const runArtifacts = new URL(run.info.artifact_uri).pathname.replace(/^\/+/, "");
    const config = await axios.get(`${api}/mlflow-artifacts/artifacts/${runArtifacts}/training-config.json`);
    expect(config.data).toEqual({ lr: 0.01 });
  });

  it("rides out a burst of 5xx answers with backoff", async () => {
    const registry = new MlflowRegistry({ url: proxy.url, actor: "t", retries: 4, backoffMs: 5 });
    const failedBefore = proxy.failed;
    proxy.failNext(3);
    await expect(registry.listModels()).resolves.toBeInstanceOf(Array);
    expect(proxy.failed - failedBefore).toBe(3);
  });

  it("gives up with RegistryUnavailableError when 5xx outlast the retries", async () => {
    const registry = new MlflowRegistry({ url: proxy.url, actor: "t", retries: 1, backoffMs: 5 });
    proxy.failNext(2);
    const err = await registry.listModels().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryUnavailableError);
    expect((err as Error).message).toMatch(new RegExp(`${proxy.url}.*HTTP 503`));
  });

  it("treats versions that are not READY as invisible, and register waits for READY", async () => {
    const model = `pending-${randomBytes(4).toString("hex")}`;
    const direct = new MlflowRegistry({ url: mlflowUrl as string, actor: "t" });
    const viaProxy = new MlflowRegistry({ url: proxy.url, actor: "t" });
    await direct.register((await makeModelDir({ name: model, parent: work })).dir);
    await direct.register((await makeModelDir({ name: model, parent: work })).dir);

    proxy.pending = true;
    try {
      await expect(viaProxy.listVersions(model)).rejects.toThrow(/not registered/);
      await expect(viaProxy.getVersion(model, 2)).rejects.toThrow(VersionNotFoundError);
      await expect(viaProxy.getVersion(model, 2)).rejects.toThrow(/PENDING_REGISTRATION/);
      await expect(viaProxy.setAlias(model, "production", 2)).rejects.toThrow(VersionNotFoundError);

      const servedBefore = proxy.pendingServed;
      const registering = viaProxy.register((await makeModelDir({ name: model, parent: work })).dir);
      // Let the registration see PENDING for a while, then let the version become READY.
      while (proxy.pendingServed < servedBefore + 2) await new Promise((resolve) => setTimeout(resolve, 20));
      proxy.pending = false;
      expect((await registering).version).toBe(3);
    } finally {
      proxy.pending = false;
    }
    expect((await viaProxy.listVersions(model)).map((v) => v.version)).toEqual([1, 2, 3]);
  });
});
