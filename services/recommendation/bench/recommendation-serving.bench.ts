// End-to-end serving benchmark of FindSimilarUsers and RecommendItems against the transport ceiling (a plain
// grpc-js server answering a fixed response of the same size), closed model at concurrency 16 and 64, with
// @funnel/loadtest's runLoad. Both servers run in their own child process; one JSON document on stdout.
//
//   npm run bench -w @funnel/recommendation [-- --users 5000 --index hnsw --duration-ms 8000 --concurrency 16,64]
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { runLoad, type LoadResult } from "@funnel/loadtest";
import {
  DeviceType,
  PageType,
  RecommendationServiceClient,
  SimilarityServiceClient,
} from "@funnel/proto";
import { FileRegistry } from "@funnel/registry";
import { DEVELOPMENT_PSEUDONYM_SALT } from "@funnel/two-tower";
import { startServerProcess, type ServerProcess } from "@funnel/loadtest";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PACKAGE_DIR = path.resolve(HERE, "..");
// Servers get only PATH from this environment, so no FUNNEL_* variable of the caller changes what is measured.
const SERVER_OPTIONS = { cwd: PACKAGE_DIR, env: { PATH: process.env.PATH ?? "" }, readyTimeoutMs: 300_000 };
/** `node --import tsx <script> args` as a command and its arguments. */
const node = (script: string, args: string[]): [string, string[]] => [process.execPath, ["--import", "tsx", script, ...args]];
const REPO_ROOT = path.resolve(PACKAGE_DIR, "../..");
const K = 10;

const { values: args } = parseArgs({
  options: {
    users: { type: "string", default: "5000" },
    dim: { type: "string", default: "128" },
    index: { type: "string", default: "hnsw" },
    "duration-ms": { type: "string", default: "8000" },
    "warmup-ms": { type: "string", default: "2000" },
    concurrency: { type: "string", default: "16,64" },
    model: { type: "string" },
  },
});
const users = Number(args.users);
const dim = Number(args.dim);
const durationMs = Number(args["duration-ms"]);
const warmupMs = Number(args["warmup-ms"]);
const concurrencies = args.concurrency!.split(",").map(Number);
if (args.index !== "hnsw" && args.index !== "exact") throw new Error(`--index must be hnsw or exact, got ${args.index}`);
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Trains the bench model with the training CLI unless a complete model directory is already cached. */
function ensureModel(dir: string): void {
  if (existsSync(path.join(dir, "manifest.json"))) return;
  const train = ["run", "train", "--silent", "-w", "@funnel/training", "--", "--generate", "--users", String(users), "--seed", "7", "--epochs", "2", "--dim", String(dim), "--out", dir];
  log(`training the bench model: npm ${train.join(" ")}`);
  const env = { ...process.env };
  delete env.FUNNEL_PSEUDONYM_SALT; // the model is trained and served with the development salt
  const result = spawnSync("npm", train, { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "inherit"], env });
  if (result.status !== 0) throw new Error(`training the bench model failed (exit ${result.status})`);
}

function unary<Req, Res>(send: (request: Req, callback: (error: grpc.ServiceError | null, response: Res) => void) => unknown) {
  return (request: Req) => new Promise<Res>((resolve, reject) => send(request, (error, response) => (error ? reject(error) : resolve(response))));
}

function summary(r: LoadResult) {
  return {
    throughputPerSec: Math.round(r.throughputPerSec),
    p50Ms: round(r.latencyMs.p50Ms),
    p99Ms: round(r.latencyMs.p99Ms),
    requests: r.requests,
    errors: r.errors,
    ...(r.errors > 0 ? { codes: r.codes, errorSamples: r.errorSamples } : {}),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

async function main(): Promise<void> {
  const modelDir = args.model ?? path.join(os.tmpdir(), `funnel-recommendation-bench-model-u${users}-d${dim}`);
  ensureModel(modelDir);
  const work = await mkdtemp(path.join(os.tmpdir(), "recommendation-bench-"));
  const registry = new FileRegistry({ dataDir: path.join(work, "registry"), actor: "recommendation-bench" });
  const { version } = await registry.register(modelDir, { model: "two-tower" });
  await registry.setAlias("two-tower", "production", version, { reason: "recommendation benchmark" });
  const exactBelow = args.index === "hnsw" ? "0" : "100000000";
  const servers: ServerProcess[] = [];
  try {
    const ceiling = await startServerProcess("ceiling", ...node("bench/ceiling-server.ts", [String(K)]), SERVER_OPTIONS);
    servers.push(ceiling);
    const loadStarted = Date.now();
    const ours = await startServerProcess(
      "ours",
      ...node("bench/our-server.ts", [
        "--port", "0", "--metrics-port", "-1", "--log-level", "warn", "--registry", "file", "--registry-dir", path.join(work, "registry"),
        "--model-cache-dir", path.join(work, "cache"), "--pseudonym-salt", DEVELOPMENT_PSEUDONYM_SALT, "--model-poll-ms", "0",
        "--similarity-exact-below", exactBelow, "--recommendation-exact-below", exactBelow,
      ]),
      SERVER_OPTIONS,
    );
    servers.push(ours);
    const loadSeconds = (Date.now() - loadStarted) / 1000;
    const width = Math.max(6, String(users).length);
    const userId = (i: number) => `user-${String((i % users) + 1).padStart(width, "0")}`;

    const results: Record<string, Record<string, unknown>> = { FindSimilarUsers: {}, RecommendItems: {} };
    for (const [name, target] of [["ceiling", ceiling], ["ours", ours]] as const) {
      const address = `127.0.0.1:${target.port}`;
      const similarity = new SimilarityServiceClient(address, grpc.credentials.createInsecure());
      const recommendation = new RecommendationServiceClient(address, grpc.credentials.createInsecure());
      const find = unary(similarity.findSimilarUsers.bind(similarity));
      const recommend = unary(recommendation.recommendItems.bind(recommendation));
      const calls = {
        FindSimilarUsers: (i: number) => find({ query: { $case: "userId", value: userId(i) }, topK: K }),
        RecommendItems: (i: number) =>
          recommend({
            userId: userId(i),
            topK: K,
            excludeItemIds: [],
            context: { currentPage: PageType.PAGE_TYPE_PRODUCT, device: DeviceType.DEVICE_TYPE_MOBILE, sessionId: "s", recentItemIds: ["item-00001", "item-00002"] },
          }),
      };
      for (const [method, call] of Object.entries(calls)) {
        for (const concurrency of concurrencies) {
          log(`${name} ${method} concurrency ${concurrency}`);
          const result = await runLoad({ call, mode: { concurrency }, durationMs, warmupMs });
          const key = `c${concurrency}`;
          results[method]![key] = { ...(results[method]![key] as object), [name]: summary(result) };
        }
      }
      similarity.close();
      recommendation.close();
    }
    for (const method of Object.values(results)) {
      for (const entry of Object.values(method) as { ours: { throughputPerSec: number; p99Ms: number }; ceiling: { throughputPerSec: number; p99Ms: number } }[]) {
        Object.assign(entry, {
          oursVsCeilingThroughput: round(entry.ours.throughputPerSec / entry.ceiling.throughputPerSec),
          oursVsCeilingP99: round(entry.ours.p99Ms / entry.ceiling.p99Ms),
        });
      }
    }
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: "similarity + recommendation end to end over gRPC, closed model",
          machine: { cpus: os.cpus().length, loadAverage1m: round(os.loadavg()[0]!) },
          model: { users, dim, version, index: args.index, k: K, loadAndIndexSeconds: round(loadSeconds) },
          window: { durationMs, warmupMs },
          ceiling: "plain grpc-js server, same protos, fixed response of k entries",
          results,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    for (const server of servers.reverse()) await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
