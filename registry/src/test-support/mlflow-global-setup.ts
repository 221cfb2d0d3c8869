import { spawn, type ChildProcess } from "node:child_process";
import { access, constants, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the real MLflow server for this test run, or null when mlflow is not installed. */
    mlflowUrl: string | null;
    /** Where that server stores artifacts, so tests can corrupt one on disk. */
    mlflowArtifactsDir: string | null;
  }
}

const HEALTH_TIMEOUT_MS = 150_000;

async function findOnPath(command: string, pathVar: string): Promise<string | undefined> {
  for (const dir of pathVar.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function waitForHealth(url: string, child: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mlflow server exited with ${child.exitCode} before it was healthy:\n${logs()}`);
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`mlflow server at ${url} did not answer /health within ${HEALTH_TIMEOUT_MS} ms:\n${logs()}`);
}

/**
 * Starts one real MLflow tracking server (sqlite + artifact proxy) for the whole run. This file is a test
 * entry point, so it reads PATH and CI directly: on CI a missing mlflow must fail the build rather than
 * quietly skip half the suite.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const ci = process.env.CI === "true";
  const mlflow = await findOnPath("mlflow", process.env.PATH ?? "");
  if (!mlflow) {
    if (ci) throw new Error("CI=true but `mlflow` is not on PATH: run `pip install mlflow` before the registry tests");
    const bar = "!".repeat(78);
    console.warn(`\n${bar}\n!!! mlflow is NOT installed: SKIPPING every MLflow-backend registry test.\n!!! Install it with \`pip install mlflow\` to run them (CI=true makes this a failure).\n${bar}\n`);
    project.provide("mlflowUrl", null);
    project.provide("mlflowArtifactsDir", null);
    return async () => undefined;
  }

  const work = await mkdtemp(path.join(tmpdir(), "registry-mlflow-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const artifactsDir = path.join(work, "artifacts");
  let output = "";
  // nice: the machine's CPUs are shared with other test suites; the server is mostly idle anyway.
  const child = spawn(
    "nice",
    [
      "-n", "10", mlflow, "server",
      "--host", "127.0.0.1",
      "--port", String(port),
      "--workers", "1",
      "--serve-artifacts",
      "--backend-store-uri", `sqlite:///${path.join(work, "mlflow.db")}`,
      "--artifacts-destination", artifactsDir,
    ],
    {
      cwd: work,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      // The job runner forks several huey consumers the registry never uses; on shared CPUs they only cost.
      env: { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false" },
    },
  );
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);

  const stop = async () => {
    const stopping = Date.now();
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      // The server forks uvicorn workers; signal the whole process group we created with detached: true.
      process.kill(-child.pid, "SIGTERM");
      const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, "SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
      console.info(`mlflow server stopped after ${Date.now() - stopping} ms`);
    }
    await rm(work, { recursive: true, force: true });
  };

  try {
    const started = Date.now();
    await waitForHealth(url, child, () => output);
    console.info(`mlflow server ready at ${url} after ${Date.now() - started} ms`);
  } catch (err) {
    await stop();
    throw err;
  }
  project.provide("mlflowUrl", url);
  project.provide("mlflowArtifactsDir", artifactsDir);
  return stop;
}
