// The Sentiment service's unary path against the transport ceiling: a plain grpc-js server answering every
// Analyze with one fixed AnalyzeResponse (the real service's answer to the first text, so messages are the
// same size). Between the two, the runtime's ServingServer answering that same fixed response shows what
// the runtime itself costs. A closed-loop client drives each at concurrency 1, 16 and 64. Texts repeat, so
// the service answers from its response cache: what is measured is the per-call serving cost, not scoring.
// All servers run at once and the client alternates between them in short rounds, so load from other
// processes on the machine falls on all alike. Servers run in child processes by default (the client's CPU
// does not steal from the server, and each server's CPU time per call is reported); `--in-process` runs
// them in the client's process instead. Prints JSON.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { PageType, SentimentServiceClient, type AnalyzeRequest, type AnalyzeResponse } from "@funnel/proto";
import { Command } from "commander";
import { startTarget, type RunningTarget, type Target } from "./unary-target.js";

const TEXTS: AnalyzeRequest[] = [
  "Checkout was quick and the staff were wonderful 😍",
  "I was charged twice for one order!!",
  "search results are sooo slow",
  "found exactly what I wanted",
  "never got a confirmation email",
  "the product page is fine I guess",
  "not good at all, the card was declined",
  "LOVE the new home page",
].map((text, i) => ({ text, page: [PageType.PAGE_TYPE_HOME, PageType.PAGE_TYPE_PAYMENT, PageType.PAGE_TYPE_SEARCH][i % 3]! }));

interface Point {
  concurrency: number;
  calls: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU time per call (child-process servers only). */
  serverCpuUsPerCall: number | null;
}

interface MeasuredTarget extends RunningTarget {
  /** Server process CPU time so far, in µs; undefined when the server shares the client's process. */
  cpuMicros(): Promise<number | undefined>;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Closed loop: `concurrency` callers, each sending its next call when the previous one answers. */
async function drive(client: SentimentServiceClient, concurrency: number, seconds: number, latencies: number[], deadlineMs = 0): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let n = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const request = TEXTS[n++ % TEXTS.length]!;
        const t0 = performance.now();
        const options = deadlineMs > 0 ? { deadline: Date.now() + deadlineMs } : {};
        await new Promise<void>((resolve, reject) =>
          client.analyze(request, new grpc.Metadata(), options, (error) => (error ? reject(error) : resolve())),
        );
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

function summarise(concurrency: number, latencies: number[], elapsed: number, cpuMicros: number | undefined): Point {
  const sorted = Float64Array.from(latencies).sort();
  return {
    concurrency,
    calls: latencies.length,
    callsPerSecond: Math.round(latencies.length / elapsed),
    p50Ms: Number(percentile(sorted, 50).toFixed(3)),
    p99Ms: Number(percentile(sorted, 99).toFixed(3)),
    serverCpuUsPerCall: cpuMicros === undefined ? null : Number((cpuMicros / latencies.length).toFixed(1)),
  };
}

async function startChild(target: Target, fixed: AnalyzeResponse): Promise<MeasuredTarget> {
  const child = fork(fileURLToPath(new URL("./unary-target.ts", import.meta.url)), [target], {
    execArgv: ["--import", "tsx", ...(process.env.BENCH_SERVER_NODE_ARGS?.split(" ").filter(Boolean) ?? [])],
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (message: { port: number }) => resolve(message.port));
    child.once("exit", (code) => reject(new Error(`${target} server exited with ${code}`)));
    child.send(fixed);
  });
  return {
    port,
    cpuMicros: () =>
      new Promise((resolve) => {
        child.once("message", (message: { cpuMicros: number }) => resolve(message.cpuMicros));
        child.send("cpu");
      }),
    close: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.disconnect();
      }),
  };
}

interface Options {
  inProcess: boolean;
  seconds: number;
  rounds: number;
  levels: number[];
  deadlineMs: number;
}

/** Both targets up at once; per level, `rounds` alternating slices of seconds/rounds each. */
async function measure(fixed: AnalyzeResponse, options: Options): Promise<Record<Target, Point[]>> {
  const targets: Target[] = ["plain", "runtime", "service"];
  const inProcess = async (t: Target): Promise<MeasuredTarget> => ({ ...(await startTarget(t, fixed, "warn")), cpuMicros: async () => undefined });
  const running = await Promise.all(targets.map((t) => (options.inProcess ? inProcess(t) : startChild(t, fixed))));
  const clients = running.map((r) => new SentimentServiceClient(`127.0.0.1:${r.port}`, grpc.credentials.createInsecure()));
  try {
    for (const client of clients) await drive(client, 16, 1, []); // warm-up: connection, JIT, cache
    const result: Record<Target, Point[]> = { plain: [], runtime: [], service: [] };
    for (const concurrency of options.levels) {
      const latencies = targets.map(() => [] as number[]);
      const elapsed = targets.map(() => 0);
      const cpu = targets.map(() => 0 as number | undefined);
      for (let round = 0; round < options.rounds; round++) {
        for (const [i, server] of running.entries()) {
          const cpuBefore = await server.cpuMicros();
          elapsed[i]! += await drive(clients[i]!, concurrency, options.seconds / options.rounds, latencies[i]!, options.deadlineMs);
          const cpuAfter = await server.cpuMicros();
          cpu[i] = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpu[i]! + cpuAfter - cpuBefore;
        }
      }
      for (const [i, t] of targets.entries()) result[t].push(summarise(concurrency, latencies[i]!, elapsed[i]!, cpu[i]));
    }
    return result;
  } finally {
    for (const client of clients) client.close();
    await Promise.all(running.map((r) => r.close()));
  }
}

async function main(): Promise<void> {
  const options = new Command()
    .option("--seconds <n>", "seconds per concurrency level and target", "8")
    .option("--concurrency <list>", "concurrency levels", "1,16,64")
    .option("--rounds <n>", "alternating slices per level (each target gets seconds/rounds per slice)", "8")
    .option("--deadline-ms <n>", "deadline the client sets on every call (0: none)", "5000")
    .option("--in-process", "run the servers in the client's process", false)
    .parse()
    .opts<{ seconds: string; concurrency: string; rounds: string; deadlineMs: string; inProcess: boolean }>();
  const levels = options.concurrency.split(",").map(Number);
  const run = { inProcess: options.inProcess, seconds: Number(options.seconds), rounds: Number(options.rounds), levels, deadlineMs: Number(options.deadlineMs) };

  // The plain server's fixed answer is the real service's answer to the first text.
  const probe = await startTarget("service", {} as AnalyzeResponse, "silent");
  const probeClient = new SentimentServiceClient(`127.0.0.1:${probe.port}`, grpc.credentials.createInsecure());
  const fixed = await new Promise<AnalyzeResponse>((resolve, reject) =>
    probeClient.analyze(TEXTS[0]!, (error, response) => (error ? reject(error) : resolve(response!))),
  );
  probeClient.close();
  await probe.close();

  const { plain, runtime, service } = await measure(fixed, run);
  const over = (points: Point[]) =>
    Object.fromEntries(levels.map((c, i) => [`c${c}`, Number((points[i]!.callsPerSecond / plain[i]!.callsPerSecond).toFixed(3))]));
  process.stdout.write(
    `${JSON.stringify(
      {
        benchmark: "sentiment-unary-vs-ceiling",
        servers: options.inProcess ? "in the client's process" : "child process",
        secondsPerLevel: run.seconds,
        rounds: run.rounds,
        clientDeadlineMs: run.deadlineMs,
        ceiling: plain,
        runtime,
        service,
        serviceOverCeiling: over(service),
        runtimeOverCeiling: over(runtime),
        node: process.version,
      },
      null,
      2,
    )}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
