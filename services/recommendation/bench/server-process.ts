// Servers under test run in their own child process, so the load generator never shares an event loop with
// the server it measures. A child prints one JSON ready line ({"ready":true,"port":N}) and stops on SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface ServerProcess {
  readonly name: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** One JSON line on stdout; the parent waits for it. */
export function announceReady(details: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ready: true, ...details })}\n`);
}

/** Stops on SIGTERM and exits normally. */
export function stopOnSigterm(stop: () => Promise<void>): void {
  process.once("SIGTERM", () => {
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
        process.exit(1);
      },
    );
  });
}

/** Starts `node --import tsx <script> args` and resolves once it prints its ready line. */
export async function startServerProcess(name: string, script: string, args: string[], cwd: string): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd, env: { PATH: process.env.PATH ?? "" }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name}: no ready line within 300 s`)), 300_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${error.message}\n--- ${name} stderr ---\n${stderr}`));
    };
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      try {
        const message = JSON.parse(line) as { ready?: boolean; port?: number };
        if (message.ready === true && typeof message.port === "number") {
          clearTimeout(timer);
          resolve(message.port);
        }
      } catch {
        // a log line of the server itself
      }
    });
    child.once("error", fail);
    child.once("exit", (code, signal) => fail(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`)));
  });
  return { name, port, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.removeAllListeners("exit");
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}
