// The embedded platform (`npm start`) as a child process on free ports, with its own registry in a temporary
// directory (the first run trains a small model into it), for runs that need the real thing end to end.
// Started by path, not as a package dependency: the platform's services use this package for their benchmarks.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { startServerProcess, type ServerProcess } from "./server-process.js";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PLATFORM_MAIN = path.join(REPO_ROOT, "services/platform/src/main.ts");

export interface EmbeddedPlatform {
  process: ServerProcess;
  target: string;
  metricsUrl: string;
  stop(): Promise<void>;
}

/** Starts the platform and resolves once every service answers SERVING on grpc.health.v1. */
export async function startEmbeddedPlatform(options: { firstRunUsers: number; firstRunEpochs: number; readyTimeoutMs?: number }): Promise<EmbeddedPlatform> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "funnel-soak-"));
  const args = [
    "--import",
    "tsx",
    PLATFORM_MAIN,
    ...["--port", "0", "--metrics-port", "0"],
    ...["--registry-dir", path.join(dataDir, "registry"), "--model-cache-dir", path.join(dataDir, "cache")],
    ...["--first-run-users", String(options.firstRunUsers), "--first-run-epochs", String(options.firstRunEpochs)],
  ];
  const child = await startServerProcess("platform", process.execPath, args, {
    cwd: REPO_ROOT,
    readyTimeoutMs: options.readyTimeoutMs ?? 300_000,
    readyWhen: (line) => line.msg === "gRPC server listening",
  }).catch(async (error: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  const target = `127.0.0.1:${child.port}`;
  const stop = async () => {
    await child.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForServing(target, options.readyTimeoutMs ?? 120_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { process: child, target, metricsUrl: `http://127.0.0.1:${child.details.metricsPort}/metrics`, stop };
}

/** Polls grpc.health.v1.Health/Check (whole server) until SERVING; the messages are tiny enough to hand-encode. */
async function waitForServing(target: string, timeoutMs: number): Promise<void> {
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  const identity = (value: Buffer) => value;
  // HealthCheckResponse { status: SERVING (1) } is field 1, varint 1.
  const SERVING = Buffer.from([0x08, 0x01]);
  const until = Date.now() + timeoutMs;
  try {
    while (Date.now() < until) {
      const answer = await new Promise<Buffer | undefined>((resolve) =>
        client.makeUnaryRequest("/grpc.health.v1.Health/Check", identity, identity, Buffer.alloc(0), { deadline: Date.now() + 2_000 }, (error, value) =>
          resolve(error ? undefined : value),
        ),
      );
      if (answer?.equals(SERVING)) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`platform at ${target} not SERVING within ${timeoutMs} ms`);
  } finally {
    client.close();
  }
}
