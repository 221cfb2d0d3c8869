/**
 * Registry throughput benchmark: register, resolve and download one model directory with a large tower file.
 * Prints one JSON object per backend. Usage: `npm run bench -w @funnel/registry [-- --mb 64]`; set
 * FUNNEL_REGISTRY=mlflow and MLFLOW_TRACKING_URI to measure an MLflow server instead of a temp file registry.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { readRegistryConfig, registryFromConfig } from "../src/config.js";
import { makeModelDir } from "../src/test-support/make-model-dir.js";

const { values } = parseArgs({ options: { mb: { type: "string", default: "64" }, runs: { type: "string", default: "3" } } });
const megabytes = Number(values.mb);
const runs = Number(values.runs);
if (!Number.isFinite(megabytes) || megabytes <= 0 || !Number.isInteger(runs) || runs < 1) {
  throw new Error(`--mb must be a positive number and --runs a positive integer, got --mb ${values.mb} --runs ${values.runs}`);
}

const work = await mkdtemp(path.join(tmpdir(), "registry-bench-"));
try {
  const config = { ...readRegistryConfig(process.env, work), dataDir: path.join(work, "registry") };
  const registry = registryFromConfig(config);
  const model = `bench-${randomBytes(3).toString("hex")}`;
  const register: number[] = [];
  const resolve: number[] = [];
  const download: number[] = [];
  let totalBytes = 0;
  for (let i = 0; i < runs; i += 1) {
    const { dir, manifest } = await makeModelDir({ name: model, towerBytes: megabytes * 1024 * 1024, parent: work });
    totalBytes = Object.values(manifest.files).reduce((sum, f) => sum + f.bytes, 0);
    let t = performance.now();
    const version = await registry.register(dir);
    register.push(performance.now() - t);
    t = performance.now();
    await registry.resolve(model, version.version);
    resolve.push(performance.now() - t);
    t = performance.now();
    await registry.download(model, version.version, path.join(work, `download-${i}`));
    download.push(performance.now() - t);
    await rm(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const mbps = (ms: number) => Number((totalBytes / 1024 / 1024 / (ms / 1000)).toFixed(1));
  process.stdout.write(
    `${JSON.stringify({
      benchmark: "registry-throughput",
      backend: registry.backend,
      modelBytes: totalBytes,
      runs,
      registerMsMedian: Number(median(register).toFixed(1)),
      registerMBps: mbps(median(register)),
      resolveMsMedian: Number(median(resolve).toFixed(2)),
      downloadMsMedian: Number(median(download).toFixed(1)),
      downloadMBps: mbps(median(download)),
    })}\n`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
