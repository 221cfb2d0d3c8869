// One "pod" of the fleet test: a service's real entry point (`services/<name>/src/main.ts`) as a child process,
// bound to its own loopback address (127.0.0.x, as a pod has its own IP) on the port its Service names. The
// process is signalled as the kubelet does: SIGTERM to drain, SIGKILL to kill.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

export interface FleetPodOptions {
  /** Folder under services/ whose src/main.ts to run (e.g. "similarity", "router"). */
  service: string;
  name: string;
  ip: string;
  port: number;
  args: string[];
  env: Record<string, string>;
  readyTimeoutMs?: number;
}

export class FleetPod {
  readonly startedAt = performance.now();
  /** Last lines of its output, for a failure message. */
  private readonly tail: string[] = [];
  metricsPort: number | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;

  private constructor(
    readonly options: FleetPodOptions,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal, at: performance.now() })));
    const keep = (line: string) => {
      this.tail.push(line.slice(0, 600));
      if (this.tail.length > 40) this.tail.shift();
    };
    createInterface({ input: child.stdout! }).on("line", keep);
    createInterface({ input: child.stderr! }).on("line", keep);
  }

  get name(): string {
    return this.options.name;
  }

  get address(): string {
    return `${this.options.ip}:${this.options.port}`;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and resolves once its gRPC server listens (it may not be ready yet: models load). */
  static async start(options: FleetPodOptions): Promise<FleetPod> {
    const child = spawn(
      "nice",
      ["-n", "10", process.execPath, "--import", "tsx", path.join(REPO_ROOT, "services", options.service, "src/main.ts"), ...options.args],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...options.env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const pod = new FleetPod(options, child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(`no "gRPC server listening" within ${options.readyTimeoutMs ?? 120_000} ms`), options.readyTimeoutMs ?? 120_000);
      const fail = (why: string) => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(new Error(`${options.name}: ${why}\n${pod.logs()}`));
      };
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (!line.includes("gRPC server listening")) return;
        const entry = JSON.parse(line) as { metricsPort?: number };
        pod.metricsPort = entry.metricsPort;
        clearTimeout(timer);
        resolve();
      });
      child.once("exit", (code, signal) => fail(`exited while starting (code ${code}, signal ${signal})`));
    });
    return pod;
  }

  logs(): string {
    return this.tail.join("\n");
  }

  signal(signal: "SIGTERM" | "SIGKILL"): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs` (terminationGracePeriodSeconds). */
  async stop(graceMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> {
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Calls this pod's server counted per method from its Prometheus /metrics (funnel_grpc_requests_total). */
  async callCount(method: string): Promise<number> {
    if (!this.metricsPort || !this.running) return 0;
    const text = await fetch(`http://${this.options.ip}:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(2_000) })
      .then((r) => r.text())
      .catch(() => "");
    let total = 0;
    for (const line of text.split("\n")) {
      if (line.startsWith("funnel_grpc_requests_total{") && line.includes(`method="${method}"`)) total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
    return total;
  }
}
