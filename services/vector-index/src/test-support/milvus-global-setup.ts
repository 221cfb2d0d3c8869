import { spawn } from "node:child_process";
import { access, constants, mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** host:port of the real Milvus (milvus-lite) gRPC server for this run, or null when it is not installed. */
    milvusAddress: string | null;
  }
}

const READY_TIMEOUT_MS = 60_000;

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

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Starts one real Milvus gRPC server (`milvus-lite server`, from `pip install milvus-lite`) for the whole run.
 * This file is a test entry point, so it reads PATH and CI directly: on CI a missing milvus-lite fails the
 * build rather than quietly skipping the Milvus backend's tests.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const ci = process.env.CI === "true";
  const milvusLite = await findOnPath("milvus-lite", process.env.PATH ?? "");
  if (!milvusLite) {
    if (ci) throw new Error("CI=true but `milvus-lite` is not on PATH: run `pip install -r .ci/requirements-test.txt` before the vector-index tests");
    const bar = "!".repeat(78);
    console.warn(`\n${bar}\n!!! milvus-lite is NOT installed: SKIPPING every Milvus-backend vector-index test.\n!!! Install it with \`pip install milvus-lite pymilvus\` to run them (CI=true makes this a failure).\n${bar}\n`);
    project.provide("milvusAddress", null);
    return async () => undefined;
  }

  const work = await mkdtemp(path.join(tmpdir(), "vector-index-milvus-"));
  const port = await freePort();
  let output = "";
  // nice: the machine's CPUs are shared with other suites; the server is idle between calls.
  const child = spawn("nice", ["-n", "10", milvusLite, "server", "--data-dir", path.join(work, "data"), "--host", "127.0.0.1", "--port", String(port)], {
    cwd: work,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);

  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-child.pid, "SIGTERM");
      const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, "SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(work, { recursive: true, force: true });
  };

  const started = Date.now();
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() - started > READY_TIMEOUT_MS) {
      await stop();
      throw new Error(`milvus-lite server did not listen on ${port} within ${READY_TIMEOUT_MS} ms (exit ${child.exitCode}):\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  console.info(`milvus-lite server ready at 127.0.0.1:${port} after ${Date.now() - started} ms`);
  project.provide("milvusAddress", `127.0.0.1:${port}`);
  return stop;
}
