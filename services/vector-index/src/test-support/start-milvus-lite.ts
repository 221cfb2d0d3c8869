import { spawn } from "node:child_process";
import { access, constants, mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const READY_TIMEOUT_MS = 60_000;

/** The `milvus-lite` executable on `pathVar`, if pip installed it there. */
export async function findMilvusLite(pathVar: string): Promise<string | undefined> {
  for (const dir of pathVar.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, "milvus-lite");
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

export interface MilvusLiteServer {
  address: string;
  port: number;
  dataDir: string;
  /** Stops the server; its data directory is removed unless the caller gave it (to start again on it). */
  stop(): Promise<void>;
}

export interface MilvusLiteOptions {
  /** A fixed port (e.g. the one a stopped server used, so clients reconnect); default a free one. */
  port?: number;
  /** A data directory the caller owns and keeps; default a temporary one removed on stop. */
  dataDir?: string;
}

/**
 * Starts `milvus-lite server` (a Milvus gRPC server from `pip install milvus-lite`) on a free port with a
 * temporary data directory, and waits until it accepts connections. Used by the test global setup and the
 * benchmark.
 */
export async function startMilvusLite(executable: string, options: MilvusLiteOptions = {}): Promise<MilvusLiteServer> {
  const work = await mkdtemp(path.join(tmpdir(), "vector-index-milvus-"));
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? path.join(work, "data");
  let output = "";
  // nice: the machine's CPUs are shared with other suites; the server is idle between calls.
  const child = spawn("nice", ["-n", "10", executable, "server", "--data-dir", dataDir, "--host", "127.0.0.1", "--port", String(port)], {
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
      // detached: true made the server a process group leader; signal the group.
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
  return { address: `127.0.0.1:${port}`, port, dataDir, stop };
}
