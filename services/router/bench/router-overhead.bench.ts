// Router overhead in one run: the Sentiment service (rule path, response cache warm, so the service itself
// costs little and the router's share shows) called directly and through the router, each in its own
// process as in a cluster, with the load generator (@funnel/loadtest runLoad) in this one. Closed model
// (concurrency) for throughput, open model (fixed arrival rate) for latency at equal load; the targets
// alternate in slices so that drift on a shared machine hits both alike. Prints JSON.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { grpcMixCaller, runLoad, serviceMix, type LoadResult } from "@funnel/loadtest";
import { Command } from "commander";

const repo = fileURLToPath(new URL("../../..", import.meta.url));

/** Starts a service entry point on a free port; resolves with its port once it listens. */
function startService(entry: string, args: string[]): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(repo, entry), "--port", "0", "--metrics-port", "-1", "--log-level", "info", ...args], {
    cwd: repo,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${entry} exited with ${code} before listening`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const record = line.startsWith("{") ? (JSON.parse(line) as { msg?: string; port?: number }) : {};
      if (record.msg === "gRPC server listening") resolve({ port: record.port!, child });
    });
  });
}

async function main(): Promise<void> {
  const options = new Command()
    .option("--slice-ms <n>", "measured time per slice", "5000")
    .option("--slices <n>", "slices per target and mode", "2")
    .option("--concurrency <n>", "closed model: calls in flight", "16")
    .option("--rate <n>", "open model: arrivals per second (below both saturation points, so p99 compares at equal load)", "200")
    .parse()
    .opts<{ sliceMs: string; slices: string; concurrency: string; rate: string }>();
  const sliceMs = Number(options.sliceMs);
  const dir = await mkdtemp(path.join(os.tmpdir(), "router-bench-"));
  const children: ChildProcess[] = [];
  try {
    const sentiment = await startService("services/sentiment/src/main.ts", []);
    children.push(sentiment.child);
    const config = path.join(dir, "experiments.yaml");
    await writeFile(
      config,
      `experiments:\n  - name: sentiment\n    service: funnel.v1.SentimentService\n    salt: bench\n    variants:\n      - { name: control, weight: 100, upstream: "dns:///127.0.0.1:${sentiment.port}" }\n`,
    );
    const router = await startService("services/router/src/main.ts", ["--router-experiments", config]);
    children.push(router.child);

    const mix = serviceMix("sentiment");
    const targets = {
      direct: grpcMixCaller({ target: `127.0.0.1:${sentiment.port}`, mix, deadlineMs: 5_000 }),
      router: grpcMixCaller({ target: `127.0.0.1:${router.port}`, mix, deadlineMs: 5_000 }),
    };
    const modes = { closed: { concurrency: Number(options.concurrency) }, open: { ratePerSec: Number(options.rate) } };
    const results: Record<string, Record<string, LoadResult[]>> = { closed: { direct: [], router: [] }, open: { direct: [], router: [] } };
    for (const [modeName, mode] of Object.entries(modes)) {
      for (let slice = 0; slice < Number(options.slices); slice++) {
        for (const [targetName, target] of Object.entries(targets)) {
          process.stderr.write(`${modeName} ${targetName} slice ${slice + 1}\n`);
          results[modeName]![targetName]!.push(await runLoad({ call: (i) => target.call(i), mode, durationMs: sliceMs, warmupMs: slice === 0 ? 1_500 : 300 }));
        }
      }
    }
    for (const target of Object.values(targets)) target.close();

    const summarise = (runs: LoadResult[]) => ({
      throughputPerSec: round(mean(runs.map((r) => r.throughputPerSec))),
      p50Ms: round(mean(runs.map((r) => r.latencyMs.p50Ms))),
      p99Ms: round(mean(runs.map((r) => r.latencyMs.p99Ms))),
      errors: runs.reduce((sum, r) => sum + r.errors, 0),
      slices: runs.map((r) => ({ throughputPerSec: round(r.throughputPerSec), p99Ms: round(r.latencyMs.p99Ms) })),
    });
    const report: Record<string, unknown> = {
      bench: "router-overhead",
      service: "sentiment (rule path, Analyze/AnalyzeBatch mix of @funnel/loadtest, cache warm)",
      // Other work on the machine moves these figures; the load average says how much there was.
      machine: { cpus: os.cpus().length, node: process.version, loadAverage1m: round(os.loadavg()[0]!) },
      sliceMs,
    };
    for (const [modeName, byTarget] of Object.entries(results)) {
      const direct = summarise(byTarget.direct!);
      const routed = summarise(byTarget.router!);
      report[modeName] = {
        mode: modes[modeName as keyof typeof modes],
        direct,
        router: routed,
        throughputRatio: round(routed.throughputPerSec / direct.throughputPerSec),
        addedP50Ms: round(routed.p50Ms - direct.p50Ms),
        addedP99Ms: round(routed.p99Ms - direct.p99Ms),
      };
    }
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  }
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const round = (value: number) => Math.round(value * 1_000) / 1_000;

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
