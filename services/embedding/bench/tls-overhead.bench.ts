// What TLS (and token authentication on top) costs a unary EmbeddingService call: the same server process
// (our-server.ts, as one Deployment runs it) started plaintext, with TLS, and with TLS + token auth, called by
// id (the cheapest call: the transport is most of its cost, so this is the worst case for TLS) in closed
// loops at a fixed concurrency. Rounds alternate between the servers so machine noise hits all alike; one
// JSON document on stdout with calls/s, p50 and p99 per mode and the ratios to plaintext from this one run.
// Usage: npm run bench:tls -w @funnel/embedding [-- --seconds 4 --rounds 3 --concurrency 8]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { type ServerProcess, startServerProcess } from "@funnel/loadtest";
import { EmbeddingServiceClient, type EmbedUsersRequest } from "@funnel/proto";
import { generateToken, hashToken } from "@funnel/runtime";
import { TestPki } from "@funnel/runtime/testing";
import { Command } from "commander";
import { BENCH_TRAINING, benchRegistry, ensureBenchModel, loadBenchModel } from "./bench-model.js";
import { embeddingServerArgs } from "./our-server-args.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, "../../..");
const DEV_SALT = "funnel-dev-salt";
const log = (line: string) => process.stderr.write(`${line}\n`);

const options = new Command()
  .option("--seconds <n>", "length of one measured round", "4")
  .option("--rounds <n>", "rounds per mode (alternating)", "3")
  .option("--concurrency <n>", "calls in flight", "8")
  .option("--model <dir>", "bench model directory", path.join(os.tmpdir(), `funnel-embedding-bench-model-u${BENCH_TRAINING.users}-s${BENCH_TRAINING.seed}-d${BENCH_TRAINING.dim}`))
  .parse()
  .opts<{ seconds: string; rounds: string; concurrency: string; model: string }>();

interface Mode {
  label: string;
  server: ServerProcess;
  client: EmbeddingServiceClient;
  metadata: grpc.Metadata;
  latencies: number[];
  calls: number;
  seconds: number;
  /** Server process CPU seconds during the measured rounds: robust to other load on the machine. */
  serverCpuSeconds: number;
  errors: number;
}

function call(mode: Mode, request: EmbedUsersRequest): Promise<void> {
  return new Promise((resolve) =>
    mode.client.embedUsers(request, mode.metadata, { deadline: Date.now() + 10_000 }, (error) => {
      if (error) mode.errors++;
      resolve();
    }),
  );
}

async function round(mode: Mode, requests: EmbedUsersRequest[], seconds: number, concurrency: number, record: boolean): Promise<void> {
  const until = performance.now() + seconds * 1000;
  let next = 0;
  const started = performance.now();
  const cpuBefore = mode.server.cpuSeconds();
  let calls = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        await call(mode, requests[next++ % requests.length]!);
        if (record) mode.latencies.push(performance.now() - t);
        calls++;
      }
    }),
  );
  if (record) {
    mode.serverCpuSeconds += mode.server.cpuSeconds() - cpuBefore;
    mode.calls += calls;
    mode.seconds += (performance.now() - started) / 1000;
  }
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  ensureBenchModel(options.model, REPO_ROOT, log);
  const model = await loadBenchModel(options.model, DEV_SALT);
  const scratch = mkdtempSync(path.join(os.tmpdir(), "funnel-tls-bench-"));
  const modes: Mode[] = [];
  try {
    const registry = await benchRegistry(model.dir, path.join(scratch, "registry"));
    const pki = new TestPki(path.join(scratch, "pki"));
    const cert = pki.server("server");
    const token = generateToken();
    const callers = path.join(scratch, "callers.yaml");
    writeFileSync(callers, `callers:\n  - { name: bench, roles: [client], tokens: ["${hashToken(token)}"] }\n`);
    const tlsArgs = ["--tls-cert-file", cert.certFile, "--tls-key-file", cert.keyFile];
    const variants: [string, string[], boolean, boolean][] = [
      ["plaintext", [], false, false],
      ["tls", tlsArgs, true, false],
      ["tls+token", [...tlsArgs, "--auth", "true", "--auth-callers-file", callers], true, true],
    ];
    for (const [label, extra, tls, auth] of variants) {
      const place = { registryDir: registry.dataDir, modelCacheDir: path.join(scratch, `cache-${label}`), salt: DEV_SALT };
      const args = [...embeddingServerArgs(place, {}), ...extra];
      const server = await startServerProcess(label, process.execPath, ["--import", "tsx", path.join(HERE, "our-server.ts"), ...args], { cwd: REPO_ROOT });
      const credentials = tls ? grpc.credentials.createSsl(readFileSync(pki.caFile)) : grpc.credentials.createInsecure();
      const client = new EmbeddingServiceClient(`127.0.0.1:${server.port}`, credentials, { "grpc.ssl_target_name_override": "localhost" });
      const metadata = new grpc.Metadata();
      if (auth) metadata.set("authorization", `Bearer ${token}`);
      modes.push({ label, server, client, metadata, latencies: [], calls: 0, seconds: 0, serverCpuSeconds: 0, errors: 0 });
    }
    const requests: EmbedUsersRequest[] = model.userIds.slice(0, 512).map((userId) => ({ users: [{ input: { $case: "userId", value: userId } }], model: undefined }));
    const seconds = Number(options.seconds);
    const concurrency = Number(options.concurrency);
    for (const mode of modes) await round(mode, requests, 1, concurrency, false); // warm-up: connections, JIT, cache
    for (let r = 0; r < Number(options.rounds); r++) {
      for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) {
        log(`round ${r + 1}: ${mode.label}`);
        await round(mode, requests, seconds, concurrency, true);
      }
    }
    const figures = Object.fromEntries(
      modes.map((mode) => {
        const sorted = [...mode.latencies].sort((a, b) => a - b);
        return [
          mode.label,
          {
            callsPerSecond: Math.round(mode.calls / mode.seconds),
            p50Ms: round3(quantile(sorted, 0.5)),
            p99Ms: round3(quantile(sorted, 0.99)),
            serverCpuMicrosPerCall: Math.round((mode.serverCpuSeconds / mode.calls) * 1e6),
            calls: mode.calls,
            errors: mode.errors,
          },
        ];
      }),
    ) as Record<string, { callsPerSecond: number; p50Ms: number; p99Ms: number; serverCpuMicrosPerCall: number }>;
    const base = figures.plaintext!;
    const ratios = Object.fromEntries(
      Object.entries(figures)
        .filter(([label]) => label !== "plaintext")
        .map(([label, f]) => [
          label,
          {
            serverCpuPerCallVsPlaintext: round3(f.serverCpuMicrosPerCall / base.serverCpuMicrosPerCall),
            throughputVsPlaintext: round3(f.callsPerSecond / base.callsPerSecond),
            p50VsPlaintext: round3(f.p50Ms / base.p50Ms),
            p99VsPlaintext: round3(f.p99Ms / base.p99Ms),
          },
        ]),
    );
    const report = {
      benchmark: "EmbeddingService/EmbedUsers by id: plaintext vs TLS vs TLS + bearer token",
      setup: { concurrency, roundSeconds: seconds, rounds: Number(options.rounds), cpus: os.cpus().length, loadAverage: os.loadavg().map(round3), tls: "TLS 1.3, EC P-256 certificate, one long-lived connection per client" },
      figures,
      ratios,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    for (const mode of modes) {
      mode.client.close();
      await mode.server.stop();
    }
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
