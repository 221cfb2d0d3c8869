// Servers under test run in their own child process (optionally pinned to their own CPUs), so the load
// generator never takes CPU from the server it measures, and each server's CPU time can be read from /proc.
// The parent side (startServerProcess) and the child side (announceReady, stopOnSigterm) of that protocol.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** Everything the child put in its ready line besides the port. */
  readonly details: Record<string, unknown>;
  /** User + system CPU seconds the child has used so far (all its threads). */
  cpuSeconds(): number;
  /** Settles when the child exits (for tests that signal it themselves and check how it ended). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export interface StartServerOptions {
  /** `taskset -c` CPU list for the child, e.g. "0"; undefined runs it unpinned. */
  cpus?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  readyTimeoutMs?: number;
  /**
   * Which stdout JSON line means ready (it must carry `port`); default `{"ready":true,...}` from announceReady.
   * Lets a process that only logs (the platform's "gRPC server listening") be started the same way.
   */
  readyWhen?: (line: Record<string, unknown>) => boolean;
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Starts `command args` and resolves once it prints its ready line ({"ready":true,"port":N,...}). */
export async function startServerProcess(name: string, command: string, args: string[], options: StartServerOptions = {}): Promise<ServerProcess> {
  const [file, argv] = options.cpus === undefined ? [command, args] : ["taskset", ["-c", options.cpus, command, ...args]];
  const child = spawn(file, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  // Once ready, an exit is no longer a start-up failure.
  let stopWatchingStartUp = () => {};
  const readyWhen = options.readyWhen ?? ((message: Record<string, unknown>) => message.ready === true);
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timeoutMs = options.readyTimeoutMs ?? 120_000;
    const timer = setTimeout(() => fail(new Error(`${name}: no ready line within ${timeoutMs} ms`)), timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${error.message}\n--- ${name} stderr ---\n${stderr}`));
    };
    lines.on("line", (line) => {
      if (!line.startsWith("{")) return; // logs of the server itself
      try {
        const message = JSON.parse(line) as Record<string, unknown>;
        if (readyWhen(message)) {
          clearTimeout(timer);
          stopWatchingStartUp();
          resolve(message);
        }
      } catch {
        // not our line
      }
    });
    child.once("error", (error) => fail(error));
    const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null) => fail(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`));
    child.once("exit", onEarlyExit);
    stopWatchingStartUp = () => child.off("exit", onEarlyExit);
  });
  const { port, ready: _ready, ...details } = ready;
  if (typeof port !== "number") throw new Error(`${name}: ready line without a port: ${JSON.stringify(ready)}`);
  return {
    name,
    pid: child.pid!,
    port,
    details,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    exited,
    stop: () => stopChild(child, name),
  };
}

function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may contain spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

async function stopChild(child: ChildProcess, name: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => {
    process.stderr.write(`${name} did not stop within 15 s of SIGTERM; killing it\n`);
    child.kill("SIGKILL");
  }, 15_000);
  await exited;
  clearTimeout(timer);
}

/** One JSON line on stdout; the parent waits for it (port and anything worth reporting). */
export function announceReady(details: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ready: true, ...details })}\n`);
}

/**
 * Stops on SIGTERM and exits normally, so `node --cpu-prof` gets to write its profile (it does not on a
 * signal death).
 */
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
