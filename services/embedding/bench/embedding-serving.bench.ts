// EmbeddingService served over real gRPC on loopback, measured in one run beside two baselines on the same
// protos and the same model: the transport ceiling (a plain grpc-js server answering a fixed vector) and the
// usual Python server (grpcio thread pool + onnxruntime). Closed-loop clients at several concurrencies, by-id
// and by-feature users mixed, 1 and 8 inputs per call; then batching on/off and cached/uncached for our
// service. Every server runs in its own child process, pinned apart from the client. Prints JSON.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { EmbeddingServiceClient, type EmbedUsersRequest, type EmbedUsersResponse, PROTO_ROOT } from "@funnel/proto";
import { type LoadResult, runLoad } from "@funnel/loadtest";
import { Command } from "commander";
import { BENCH_TRAINING, type BenchModel, benchRegistry, ensureBenchModel, loadBenchModel } from "./bench-model.js";
import { embeddingSettings } from "../src/config.js";
import { summariseCpuProfile } from "./cpu-profile-summary.js";
import { type ServerProcess, startServerProcess } from "@funnel/loadtest";
import { userFeatures, userRequest, type UserRequestOptions } from "./user-requests.js";
import { encodeUsers, rawUserFeaturesFromProto, ServedTwoTower } from "@funnel/two-tower";
import { embeddingServerArgs, OUR_SETTINGS, type OurSettings } from "./our-server-args.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, "../../..");
const DEV_SALT = "funnel-dev-salt";
/** Interactions per by-feature user, at most: the model's sequence length, a full recent history. */
const MAX_INTERACTIONS = 20;

interface Options {
  model: string;
  concurrency: number[];
  inputs: number[];
  warmupMs: number;
  durationMs: number;
  python: string;
  pythonMaxWorkers: number;
  serverCpus?: string;
  clientCpus?: string;
  cpuProf?: string;
  only?: string[];
  rounds: number;
  /** Micro-batcher settings compared against each other at the top concurrency (maxBatch:delayMs each). */
  batchSettings: { maxBatch: number; batchDelayMs: number }[];
}

/** One contender's figures for one configuration, over all rounds. */
interface Summary {
  inputsPerCall: number;
  concurrency: number;
  /** Median over rounds (each round is one measured window). */
  callsPerSecond: number;
  inputsPerSecond: number;
  callsPerSecondByRound: number[];
  /** Median over rounds of each round's percentile (HDR histogram of @funnel/loadtest). */
  p50Ms: number;
  p99Ms: number;
  calls: number;
  errors: number;
  firstError?: string;
  /** CPU used in the measured windows, in cores (1 = one core busy all the time); median over rounds. */
  serverCores: number;
  clientCores: number;
  /**
   * Server CPU milliseconds per call (median over rounds): on a shared machine the CPU share a server gets
   * varies, its cost per call much less. Capacity at one full core is 1000 / serverCpuMsPerCall calls/s.
   */
  serverCpuMsPerCall: number;
  /** Our service only: response-cache hits / lookups in the measured rounds, from its /metrics. */
  cacheHitRate?: number;
}

interface RoundFigures {
  load: LoadResult;
  serverCpuSeconds: number;
  serverCores: number;
  clientCores: number;
  cache?: { hits: number; lookups: number };
}

/** A server under test with its client; `repeat` > 0 cycles through that many fixed requests (cache hits). */
interface Contender {
  label: string;
  server: ServerProcess;
  client: EmbeddingServiceClient;
  repeat?: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

function parseOptions(): Options {
  const list = (value: string) => value.split(",").map((v) => Number(v.trim()));
  const twoCores = os.availableParallelism() >= 2;
  const o = new Command()
    .description("EmbeddingService vs the grpc-js transport ceiling vs a Python grpcio + onnxruntime server; JSON on stdout")
    .option("--model <dir>", "two-tower model directory trained with --generate (default: trained once into a cache folder)")
    .option("--concurrency <list>", "calls in flight", "1,16,64")
    .option("--inputs <list>", "users per EmbedUsers call", "1,8")
    .option("--warmup-ms <n>", "unmeasured warm-up per round", "500")
    .option("--duration-ms <n>", "measured time per round", "2000")
    .option("--rounds <n>", "interleaved rounds per configuration", "3")
    .option("--python <exe>", "Python for the baseline server", "python3")
    .option("--python-max-workers <n>", "thread pool size of the Python server", "10")
    .option("--server-cpus <list>", "taskset CPU list for servers (default 0 with 2+ CPUs; 'none' unpinned)")
    .option("--client-cpus <list>", "taskset CPU list for this client process (default 1 with 2+ CPUs; 'none' unpinned)")
    .option("--cpu-prof <dir>", "profile our service's servers from ready to stop; <label>.cpuprofile files and a summary in the JSON")
    .option("--only <list>", "subset of: ceiling,embedding,python,batching,cache,drift")
    .option("--batch-settings <list>", "also compare our service under these micro-batcher settings at the top concurrency, e.g. 16:1,64:1,64:0,256:2 (maxBatch:delayMs)")
    .parse()
    .opts<Record<string, string | undefined>>();
  const cpus = (value: string | undefined, fallback: string) => (value === "none" ? undefined : (value ?? (twoCores ? fallback : undefined)));
  return {
    // "-fp": trained with a feature profile; models cached before profiles existed would measure no profiling.
    model: o.model ?? path.join(os.tmpdir(), `funnel-embedding-bench-model-u${BENCH_TRAINING.users}-s${BENCH_TRAINING.seed}-d${BENCH_TRAINING.dim}-fp`),
    concurrency: list(o.concurrency!),
    inputs: list(o.inputs!),
    warmupMs: Number(o.warmupMs),
    durationMs: Number(o.durationMs),
    rounds: Number(o.rounds),
    python: o.python!,
    pythonMaxWorkers: Number(o.pythonMaxWorkers),
    serverCpus: cpus(o.serverCpus, "0"),
    clientCpus: cpus(o.clientCpus, "1"),
    cpuProf: o.cpuProf,
    only: o.only?.split(","),
    batchSettings: (o.batchSettings?.split(",") ?? []).map((pair) => {
      const [maxBatch, batchDelayMs] = pair.split(":").map(Number);
      if (!Number.isInteger(maxBatch) || !Number.isInteger(batchDelayMs)) throw new Error(`--batch-settings: "${pair}" is not maxBatch:delayMs`);
      return { maxBatch: maxBatch!, batchDelayMs: batchDelayMs! };
    }),
  };
}

/** Node child processes run through tsx's loader in the same process (tsx's CLI would add a wrapper process). */
function nodeServer(name: string, script: string, args: string[], options: Options, nodeFlags: string[] = []): Promise<ServerProcess> {
  return startServerProcess(name, process.execPath, [...nodeFlags, "--import", "tsx", path.join(HERE, script), ...args], { cpus: options.serverCpus, cwd: REPO_ROOT });
}

/** True when the Python baseline can run; installs requirements.txt with pip when something is missing. */
function pythonReady(python: string): { ok: true } | { ok: false; reason: string } {
  const probe = () => spawnSync(python, ["-c", "import grpc, grpc_tools, onnxruntime, numpy"], { encoding: "utf8" });
  let check = probe();
  if (check.error) return { ok: false, reason: `${python} not found (${check.error.message})` };
  if (check.status !== 0) {
    log(`installing the Python baseline's packages: ${python} -m pip install -r services/embedding/bench/requirements.txt`);
    const pip = spawnSync(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", path.join(HERE, "requirements.txt")], { stdio: ["ignore", "ignore", "inherit"] });
    if (pip.status !== 0) return { ok: false, reason: `pip install failed (exit ${pip.status})` };
    check = probe();
    if (check.status !== 0) return { ok: false, reason: check.stderr.trim().split("\n").at(-1) ?? "import failed" };
  }
  return { ok: true };
}

function pinSelf(cpus: string | undefined): void {
  if (cpus === undefined) return;
  // -a: every thread of this process (libuv pool included), not just the main one.
  const result = spawnSync("taskset", ["-a", "-p", "-c", cpus, String(process.pid)], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`taskset could not pin the client to CPUs ${cpus}: ${result.stderr || result.error?.message}`);
}

function embedUsers(client: EmbeddingServiceClient, request: EmbedUsersRequest): Promise<EmbedUsersResponse> {
  return new Promise((resolve, reject) =>
    client.embedUsers(request, (error, response) => {
      if (error) reject(error);
      else if (response.embeddings.length !== request.users.length) reject(new Error(`${response.embeddings.length} embeddings for ${request.users.length} inputs`));
      else resolve(response);
    }),
  );
}

/** Rows counted into drift profiles so far, from the Prometheus text of our service. */
async function driftObservations(metricsPort: unknown): Promise<number | undefined> {
  if (typeof metricsPort !== "number") return undefined;
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith("funnel_drift_observations_total{"))
    .reduce((n, line) => n + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

/** Response-cache hits and lookups so far, from the Prometheus text of our service. */
async function cacheLookups(metricsPort: unknown): Promise<{ hits: number; lookups: number } | undefined> {
  if (typeof metricsPort !== "number") return undefined;
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let hits = 0;
  let lookups = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("funnel_cache_lookups_total{")) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    lookups += value;
    if (line.includes('result="hit"')) hits += value;
  }
  return { hits, lookups };
}

class Bench {
  /** Global request sequence: no two calls of the whole bench carry the same by-feature users. */
  private seq = 0;

  constructor(
    readonly options: Options,
    readonly model: BenchModel,
  ) {}

  requestOptions(inputsPerCall: number): UserRequestOptions {
    return { inputsPerCall, userIds: this.model.userIds, itemIds: this.model.itemIds, maxInteractions: MAX_INTERACTIONS };
  }

  /** One measured window of one contender. */
  private async once(contender: Contender, concurrency: number, inputsPerCall: number): Promise<RoundFigures> {
    const { server, client, repeat = 0 } = contender;
    const requestOptions = this.requestOptions(inputsPerCall);
    const fixed = Array.from({ length: repeat }, () => userRequest(this.seq++, requestOptions));
    const cacheBefore = await cacheLookups(server.details.metricsPort);
    let serverCpu = 0;
    let clientCpu = process.cpuUsage();
    let clientCpuSeconds = 0;
    const load = await runLoad({
      mode: { concurrency },
      warmupMs: this.options.warmupMs,
      durationMs: this.options.durationMs,
      call: () => embedUsers(client, repeat > 0 ? fixed[this.seq++ % repeat]! : userRequest(this.seq++, requestOptions)),
      onMeasureStart: () => {
        serverCpu = server.cpuSeconds();
        clientCpu = process.cpuUsage();
      },
      onMeasureEnd: () => {
        serverCpu = server.cpuSeconds() - serverCpu;
        const used = process.cpuUsage(clientCpu);
        clientCpuSeconds = (used.user + used.system) / 1e6;
      },
    });
    const cacheAfter = await cacheLookups(server.details.metricsPort);
    const cache = cacheBefore && cacheAfter ? { hits: cacheAfter.hits - cacheBefore.hits, lookups: cacheAfter.lookups - cacheBefore.lookups } : undefined;
    const seconds = load.elapsedMs / 1000;
    return { load, serverCpuSeconds: serverCpu, serverCores: serverCpu / seconds, clientCores: clientCpuSeconds / seconds, cache };
  }

  /**
   * Measures the contenders on one configuration in interleaved rounds (A B C, B C A, C A B, ...): on a shared
   * machine the background load drifts, and interleaving puts that drift on every contender alike.
   */
  async compare(contenders: Contender[], concurrency: number, inputsPerCall: number): Promise<Record<string, Summary>> {
    const rounds = new Map<string, RoundFigures[]>(contenders.map((c) => [c.label, []]));
    for (let r = 0; r < this.options.rounds; r++) {
      for (let k = 0; k < contenders.length; k++) {
        const contender = contenders[(r + k) % contenders.length]!;
        const figures = await this.once(contender, concurrency, inputsPerCall);
        rounds.get(contender.label)!.push(figures);
        log(
          `${contender.label} c=${concurrency} inputs=${inputsPerCall} round ${r + 1}: ${Math.round(figures.load.throughputPerSec)} calls/s, p50 ${figures.load.latencyMs.p50Ms.toFixed(2)} ms, p99 ${figures.load.latencyMs.p99Ms.toFixed(2)} ms, server ${figures.serverCores.toFixed(2)} cores, client ${figures.clientCores.toFixed(2)} cores${figures.load.errors ? `, ${figures.load.errors} errors: ${JSON.stringify(figures.load.errorSamples)}` : ""}`,
        );
      }
    }
    return Object.fromEntries([...rounds].map(([label, figures]) => [label, summarise(figures, concurrency, inputsPerCall)]));
  }

  /** Max |difference| between two servers' vectors for the same mixed request, and by-id vs the stored file. */
  async agreement(ours: Contender, python: Contender | undefined): Promise<Record<string, unknown>> {
    const request = userRequest(this.seq++, this.requestOptions(16));
    const oursResponse = await embedUsers(ours.client, request);
    let byIdVsFile = 0;
    request.users.forEach((u, i) => {
      if (u.input?.$case !== "userId") return;
      byIdVsFile = Math.max(byIdVsFile, maxAbsDiff(oursResponse.embeddings[i]!.vector!.values, this.model.userVector(u.input.value)!));
    });
    const result: Record<string, unknown> = { inputs: request.users.length, model: oursResponse.model, oursByIdVsStoredMaxAbsDiff: byIdVsFile };
    if (python) {
      const pythonResponse = await embedUsers(python.client, request);
      let diff = 0;
      oursResponse.embeddings.forEach((e, i) => {
        diff = Math.max(diff, maxAbsDiff(e.vector!.values, pythonResponse.embeddings[i]!.vector!.values));
      });
      result.pythonVsOursMaxAbsDiff = diff;
    }
    return result;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summarise(rounds: RoundFigures[], concurrency: number, inputsPerCall: number): Summary {
  const callsPerSecond = median(rounds.map((r) => r.load.throughputPerSec));
  const errors = rounds.reduce((n, r) => n + r.load.errors, 0);
  const sample = rounds.map((r) => Object.values(r.load.errorSamples)[0]).find((m) => m !== undefined);
  const lookups = rounds.reduce((n, r) => n + (r.cache?.lookups ?? 0), 0);
  const hits = rounds.reduce((n, r) => n + (r.cache?.hits ?? 0), 0);
  return {
    inputsPerCall,
    concurrency,
    callsPerSecond,
    inputsPerSecond: callsPerSecond * inputsPerCall,
    callsPerSecondByRound: rounds.map((r) => Math.round(r.load.throughputPerSec)),
    p50Ms: median(rounds.map((r) => r.load.latencyMs.p50Ms)),
    p99Ms: median(rounds.map((r) => r.load.latencyMs.p99Ms)),
    calls: rounds.reduce((n, r) => n + r.load.requests, 0),
    errors,
    ...(sample === undefined ? {} : { firstError: sample }),
    serverCores: median(rounds.map((r) => r.serverCores)),
    clientCores: median(rounds.map((r) => r.clientCores)),
    serverCpuMsPerCall: median(rounds.map((r) => (r.load.requests > 0 ? (r.serverCpuSeconds * 1000) / r.load.requests : Number.NaN))),
    ...(lookups > 0 ? { cacheHitRate: hits / lookups } : {}),
  };
}

/** b's server CPU per call over a's: how many more calls a serves than b on the same CPU. */
function cpuRatio(a: Summary | undefined, b: Summary | undefined): number | null {
  return a && b ? b.serverCpuMsPerCall / a.serverCpuMsPerCall : null;
}

/** Median over rounds of a's throughput over b's in the same round (adjacent in time). */
function pairedRatio(a: Summary | undefined, b: Summary | undefined): number | null {
  if (!a || !b) return null;
  return median(a.callsPerSecondByRound.map((x, i) => x / b.callsPerSecondByRound[i]!));
}

/** Retries while the server answers UNAVAILABLE (models loading), so no clock starts before it serves. */
async function untilServing(call: () => Promise<unknown>, label: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await call();
      return;
    } catch (error) {
      if ((error as grpc.ServiceError).code !== grpc.status.UNAVAILABLE || Date.now() > deadline) {
        throw new Error(`${label}: first call failed: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

async function main(): Promise<void> {
  const options = parseOptions();
  const wants = (part: string) => !options.only || options.only.includes(part);
  const cpus = os.cpus().length;
  const loadBefore = os.loadavg();
  pinSelf(options.clientCpus);
  if (options.cpuProf) mkdirSync(options.cpuProf, { recursive: true });
  ensureBenchModel(options.model, REPO_ROOT, log);
  const model = await loadBenchModel(options.model, DEV_SALT);
  const bench = new Bench(options, model);
  const top = Math.max(...options.concurrency);
  const python = pythonReady(options.python);

  const contenders: Contender[] = [];
  const start = async (label: string, launch: () => Promise<ServerProcess>, repeat?: number): Promise<Contender> => {
    const server = await launch();
    const client = new EmbeddingServiceClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const contender = { label, server, client, repeat };
    contenders.push(contender);
    await untilServing(() => embedUsers(client, userRequest(0, bench.requestOptions(1))), label);
    return contender;
  };
  const scratch = mkdtempSync(path.join(os.tmpdir(), "funnel-embedding-bench-"));
  const registry = await benchRegistry(model.dir, path.join(scratch, "registry"));
  const ours = (label: string, settings: Partial<OurSettings> = {}) => {
    const place = { registryDir: registry.dataDir, modelCacheDir: path.join(scratch, `model-cache-${label}`), salt: DEV_SALT };
    const profile = options.cpuProf ? ["--bench-cpu-profile", profileFile(options.cpuProf, label)] : [];
    return start(label, () => nodeServer(label, "our-server.ts", [...embeddingServerArgs(place, settings), ...profile], options));
  };
  const startPython = () =>
    start("python", () =>
      startServerProcess(
        "python",
        options.python,
        [path.join(HERE, "python_embedding_server.py"), "--proto-root", PROTO_ROOT, "--model-dir", model.dir, "--salt", DEV_SALT, "--max-workers", String(options.pythonMaxWorkers)],
        { cpus: options.serverCpus, cwd: scratch },
      ),
    );

  let report: Record<string, unknown> = {};
  try {
    // Every server is started up front and stays up (idle ones cost nothing), so rounds can interleave them.
    const ceiling = wants("ceiling") ? await start("ceiling", () => nodeServer("ceiling", "ceiling-server.ts", [String(model.dim)], options)) : undefined;
    const embedding = wants("embedding") || wants("batching") || wants("cache") || wants("drift") ? await ours("embedding") : undefined;
    const py = python.ok && wants("python") ? await startPython() : undefined;
    const batchingOff = wants("batching") ? await ours("embedding-batching-off", OUR_SETTINGS.batchingOff) : undefined;
    const uncached = wants("cache") ? await ours("embedding-uncached", OUR_SETTINGS.cacheOff) : undefined;
    const driftOff = wants("drift") ? await ours("embedding-drift-off", OUR_SETTINGS.driftOff) : undefined;
    const agreement = embedding ? await bench.agreement(embedding, py) : undefined;

    const runs: Record<string, Record<string, unknown>> = {};
    const targets: Record<string, unknown> = {};
    const main = [ceiling, embedding, py].filter((c): c is Contender => c !== undefined && (c !== embedding || wants("embedding")));
    if (main.length > 0) {
      for (const inputs of options.inputs) {
        const row: Record<string, unknown> = {};
        for (const c of options.concurrency) {
          const s = await bench.compare(main, c, inputs);
          const vsCeiling = pairedRatio(s.embedding, s.ceiling);
          const vsPython = pairedRatio(s.embedding, s.python);
          row[`c${c}`] = {
            ...s,
            ratios: {
              embeddingVsCeiling: vsCeiling,
              embeddingVsPython: vsPython,
              pythonVsCeiling: pairedRatio(s.python, s.ceiling),
              embeddingVsCeilingPerServerCpu: cpuRatio(s.embedding, s.ceiling),
              embeddingVsPythonPerServerCpu: cpuRatio(s.embedding, s.python),
            },
          };
          if (c === top) {
            const target = (value: number | null, goal: number) => (value === null ? null : { value, met: value >= goal });
            targets[`inputs${inputs}.c${c}`] = {
              "embedding >= 0.8 x ceiling (calls/s)": target(vsCeiling, 0.8),
              "embedding >= 2 x python (calls/s)": target(vsPython, 2),
              "embedding >= 0.8 x ceiling (calls per server CPU second)": target(cpuRatio(s.embedding, s.ceiling), 0.8),
              "embedding >= 2 x python (calls per server CPU second)": target(cpuRatio(s.embedding, s.python), 2),
            };
          }
        }
        runs[`inputs${inputs}`] = row;
      }
    }
    const batching: Record<string, unknown> = {};
    if (embedding && batchingOff) {
      for (const inputs of options.inputs) {
        const s = await bench.compare([{ ...embedding, label: "on" }, { ...batchingOff, label: "off" }], top, inputs);
        batching[`inputs${inputs}.c${top}`] = { ...s, onVsOff: pairedRatio(s.on, s.off), onVsOffPerServerCpu: cpuRatio(s.on, s.off) };
      }
    }
    const batchSettings: Record<string, unknown> = {};
    if (options.batchSettings.length > 0) {
      const variants: Contender[] = [];
      for (const setting of options.batchSettings) variants.push(await ours(`batch-${setting.maxBatch}-${setting.batchDelayMs}ms`, setting));
      for (const inputs of options.inputs) batchSettings[`inputs${inputs}.c${top}`] = await bench.compare(variants, top, inputs);
    }
    const cache: Record<string, unknown> = {};
    if (embedding && uncached) {
      for (const inputs of options.inputs) {
        const s = await bench.compare([{ ...uncached, label: "uncached" }, { ...embedding, label: "cached", repeat: 64 }], top, inputs);
        cache[`inputs${inputs}.c${top}`] = { ...s, cachedVsUncached: pairedRatio(s.cached, s.uncached), cachedVsUncachedPerServerCpu: cpuRatio(s.cached, s.uncached) };
      }
    }
    // Drift profiling on the hot path: distinct feature rows (encode + count + ONNX) and repeated ones (cache
    // hits, where counting is the largest share of the work), profiling on (defaults) vs off.
    const drift: Record<string, unknown> = {};
    if (embedding && driftOff) {
      const observedBefore = await driftObservations(embedding.server.details.metricsPort);
      for (const inputs of options.inputs) {
        for (const repeat of [undefined, 64]) {
          const s = await bench.compare([{ ...embedding, label: "profiled", repeat }, { ...driftOff, label: "unprofiled", repeat }], top, inputs);
          drift[`inputs${inputs}.c${top}${repeat ? ".cached" : ""}`] = { ...s, profiledVsUnprofiled: pairedRatio(s.profiled, s.unprofiled), profiledVsUnprofiledPerServerCpu: cpuRatio(s.profiled, s.unprofiled) };
        }
      }
      const observedAfter = await driftObservations(embedding.server.details.metricsPort);
      drift.rowsProfiled = observedBefore === undefined || observedAfter === undefined ? null : observedAfter - observedBefore;
      drift.inProcess = await profilingCostPerRow(model.dir, bench.requestOptions(1));
    }

    report = {
          benchmark: "embedding-serving",
          method: "funnel.v1.EmbeddingService/EmbedUsers",
          machine: { cpus, cpuModel: os.cpus()[0]?.model, node: process.version, loadavgBefore: loadBefore, loadavgAfter: os.loadavg(), note: "shared machine: other jobs run on the same CPUs; quote ratios of one run, measured in interleaved rounds" },
          isolation: {
            servers: `each server in its own child process${options.serverCpus === undefined ? " (unpinned)" : `, pinned to CPU ${options.serverCpus} (taskset)`}`,
            client: `this process, one grpc-js channel per server${options.clientCpus === undefined ? " (unpinned)" : `, pinned to CPU ${options.clientCpus}: the client never takes the servers' CPU`}; clientCores says how busy it was`,
          },
          load: {
            kind: "closed model of @funnel/loadtest runLoad: `concurrency` callers, each sends its next call when the last one answered; server CPU read over exactly the measured calls",
            warmupMs: options.warmupMs,
            durationMs: options.durationMs,
            rounds: `${options.rounds} interleaved rounds per configuration; callsPerSecond, p50/p99 and CPU per call = median of rounds, ratios = median of same-round ratios`,
            content: `EmbedUsers; inputs alternate by id (raw ids user-NNNNNN, ${model.userIds.length} distinct, pseudonymised server-side) and by features (every one distinct, ${MAX_INTERACTIONS / 2}-${MAX_INTERACTIONS} recent interactions)`,
            inputsPerCall: options.inputs,
          },
          model: { dir: model.dir, dim: model.dim, training: BENCH_TRAINING },
          servers: {
            ceiling: "plain grpc-js server, generated EmbeddingServiceService, one fixed vector per input (no model, no runtime)",
            embedding: {
              module: "embeddingModule under runServices (@funnel/runtime), model from a file registry (alias production)",
              defaults: Object.fromEntries(Object.values(embeddingSettings).map((s) => [s.flag, s.default])),
              scenarios: OUR_SETTINGS,
            },
            python: python.ok ? { ...py?.server.details, design: "grpc.server(ThreadPoolExecutor(max_workers)), one onnxruntime run per request (default session options), numpy feature encoding, no batching across requests, no cache" } : { skipped: python.reason },
          },
          agreement,
          runs,
          targets,
          batching,
          ...(Object.keys(batchSettings).length ? { batchSettings } : {}),
          cache: Object.keys(cache).length ? { uncached: "cache entries 0, distinct requests", cached: "service defaults, 64 requests repeated", ...cache } : {},
          ...(Object.keys(drift).length ? { drift: { profiled: "service defaults (drift window 10000)", unprofiled: "--embedding-drift-window 0", cached: "64 requests repeated", ...drift } } : {}),
    };
  } finally {
    for (const c of contenders) c.client.close();
    await Promise.all(contenders.map((c) => c.server.stop()));
    rmSync(scratch, { recursive: true, force: true });
  }
  if (options.cpuProf) report.cpuProfiles = await profiles(options.cpuProf, contenders);
  const round = (_key: string, value: unknown) =>
    typeof value === "number" && !Number.isInteger(value) ? Number(value.toPrecision(4)) : value;
  process.stdout.write(`${JSON.stringify(report, round, 2)}\n`);
}

/**
 * The profiling work of one by-feature user row, timed in this process beside the encoding it follows (the
 * server figures above carry the machine's noise; these move less): bins from the encoded row, then counting
 * them with the score's bin.
 */
async function profilingCostPerRow(dir: string, requestOptions: UserRequestOptions): Promise<Record<string, number>> {
  const served = await ServedTwoTower.load(dir, 1, { drift: { windowRows: 10_000, segments: 10, minObservations: 100 } });
  try {
    const rows = Array.from({ length: 5_000 }, (_, k) => rawUserFeaturesFromProto(userFeatures(k, requestOptions)));
    const encoded = rows.map((r) => encodeUsers(served.spec, [r]));
    const vector = new Float32Array(served.dim).fill(1 / Math.sqrt(served.dim));
    const monitor = served.monitor;
    const microsPerRow = (work: () => void): number => {
      for (let w = 0; w < 3; w++) work();
      const start = process.hrtime.bigint();
      for (let r = 0; r < 10; r++) work();
      return Number(process.hrtime.bigint() - start) / 1000 / 10 / rows.length;
    };
    const encodeUs = microsPerRow(() => {
      for (const r of rows) encodeUsers(served.spec, [r]);
    });
    const binsUs = microsPerRow(() => {
      for (const t of encoded) monitor.userBins(t);
    });
    const bins = encoded.map((t) => monitor.userBins(t));
    const observeUs = microsPerRow(() => {
      for (const b of bins) monitor.observeUser(b, vector);
    });
    const start = process.hrtime.bigint();
    monitor.report();
    return { encodeMicrosPerRow: encodeUs, binsMicrosPerRow: binsUs, observeMicrosPerRow: observeUs, reportMillis: Number(process.hrtime.bigint() - start) / 1e6 };
  } finally {
    await served.close();
  }
}

function profileFile(dir: string, label: string): string {
  return path.join(dir, `${label}.cpuprofile`);
}

/** Summaries of the profiles our servers wrote when they stopped (serving steady state only). */
async function profiles(dir: string, contenders: Contender[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const c of contenders) {
    const file = profileFile(dir, c.label);
    if (existsSync(file)) out[c.label] = { file, ...(await summariseCpuProfile(file)) };
  }
  return out;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
