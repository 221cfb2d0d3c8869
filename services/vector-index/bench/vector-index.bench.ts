#!/usr/bin/env -S npx tsx
// recall@10 against exact search and queries/s for the embedded HNSW index (and Milvus), one JSON document
// on stdout; progress bars on stderr.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Presets, SingleBar } from "cli-progress";
import { Command } from "commander";
import { exactTopK } from "../src/exact-top-k.js";
import { HnswIndex } from "../src/hnsw-index.js";
import { DEFAULT_HNSW_PARAMS } from "../src/hnsw-params.js";
import { MilvusCatalog } from "../src/milvus-catalog.js";
import { randomUnitVectors, rowsOf } from "../src/test-support/random-vectors.js";
import { findMilvusLite, startMilvusLite } from "../src/test-support/start-milvus-lite.js";
import type { IndexVersion } from "../src/vector-index.js";

const list = (value: string): number[] =>
  value.split(",").filter(Boolean).map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`expected non-negative integers, got ${v}`);
    return n;
  });

const options = new Command()
  .description("Vector index benchmark: recall@k vs exact search, queries/s, build time")
  .option("--sizes <list>", "embedded index sizes", "100000,1000000")
  .option("--milvus-size <n>", "Milvus collection size (0 = skip)", "100000")
  .option("--milvus-address <host:port>", "an existing Milvus; default starts milvus-lite")
  .option("--milvus-queries <n>", "queries measured against Milvus (one at a time, then one batch)", "100")
  .option("--dim <n>", "vector dimension", "128")
  .option("--queries <n>", "queries measured per size", "1000")
  .option("--exact-queries <n>", "queries for exact search (ground truth and its q/s), at most --queries", "200")
  .option("--k <n>", "k", "10")
  .option("--build-budget-s <n>", "stop an embedded build after this many seconds and report the projected full build", "600")
  .option("--m <n>", "HNSW M", String(DEFAULT_HNSW_PARAMS.m))
  .option("--ef-construction <n>", "HNSW efConstruction", String(DEFAULT_HNSW_PARAMS.efConstruction))
  .option("--ef-search <list>", "HNSW efSearch values to measure", "64,128,256,512")
  .option("--clusters-per <n>", "one data cluster per this many vectors (0 = uniform on the sphere)", "100")
  .option("--seed <n>", "data seed", "7")
  .parse()
  .opts();

const dim = Number(options.dim);
const k = Number(options.k);
const queryCount = Number(options.queries);
const exactCount = Math.min(queryCount, Number(options.exactQueries));
const clustersPer = Number(options.clustersPer);
const version: IndexVersion = { model: "bench", version: "1", entity: "users" };

function bar(label: string, total: number): SingleBar {
  const b = new SingleBar({ format: `${label} [{bar}] {percentage}% {value}/{total} {duration}s`, stream: process.stderr }, Presets.shades_classic);
  b.start(total, 0);
  return b;
}

function makeData(size: number) {
  const clusters = clustersPer > 0 ? Math.max(1, Math.round(size / clustersPer)) : 0;
  // Queries come from the same distribution (same seed for the centres) but are not stored vectors.
  const all = randomUnitVectors(size + queryCount, dim, Number(options.seed), clusters);
  return { data: all.subarray(0, size * dim), queries: all.subarray(size * dim), clusters };
}

/** Ground truth and exact search speed over the first `exactCount` queries. */
function exact(data: Float32Array, queries: Float32Array) {
  const started = performance.now();
  const truth = exactTopK(queries.subarray(0, exactCount * dim), data, k, { dim });
  const seconds = (performance.now() - started) / 1000;
  return { truth: truth.map((t) => Array.from(t.rows, (r) => `v${r}`)), qps: exactCount / seconds };
}

/** Over the queries both sides answered (exact search may have run on fewer, or Milvus on fewer). */
function recallAt(truth: string[][], got: string[][]): number {
  const n = Math.min(truth.length, got.length);
  let hits = 0;
  for (let q = 0; q < n; q++) {
    const set = new Set(got[q]);
    for (const id of truth[q]!) if (set.has(id)) hits++;
  }
  return hits / (n * k);
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

async function benchEmbedded(size: number) {
  const { data, queries, clusters } = makeData(size);
  const ids = Array.from({ length: size }, (_, i) => `v${i}`);
  const rows = rowsOf(data, dim);
  const budgetSeconds = Number(options.buildBudgetS);

  const index = new HnswIndex({ version, dim, params: { m: Number(options.m), efConstruction: Number(options.efConstruction), threads: 0 } });
  const chunk = 10_000;
  const progress = bar(`hnsw build ${size}`, size);
  const buildStarted = performance.now();
  // CPU seconds (all threads) next to wall seconds: on a shared machine wall time says more about the neighbours.
  const buildCpuStarted = process.cpuUsage();
  let built = 0;
  // Checkpoints (vectors, seconds) show how the insert rate falls as the graph grows, for the projection.
  const checkpoints: [number, number][] = [];
  while (built < size) {
    const end = Math.min(size, built + chunk);
    await index.upsert({ version, ids: ids.slice(built, end), vectors: rows.slice(built, end) });
    built = end;
    progress.update(built);
    const elapsed = (performance.now() - buildStarted) / 1000;
    if (built % (size / 10) < chunk || built === size) checkpoints.push([built, round(elapsed)]);
    if (elapsed > budgetSeconds && built < size) break;
  }
  const buildSeconds = (performance.now() - buildStarted) / 1000;
  const buildCpu = process.cpuUsage(buildCpuStarted);
  progress.stop();
  // A build stopped by the budget is measured as what it is: an index of the first `built` vectors, against
  // exact search over the same vectors.
  const ground = exact(data.subarray(0, built * dim), queries);
  // HNSW insertion costs about log(n) per vector: project the rest at the rate of the last tenth, scaled.
  const projectedBuildSeconds =
    built === size ? buildSeconds : buildSeconds + ((size - built) / chunk) * lastChunkSeconds(checkpoints, chunk) * (Math.log(size) / Math.log(built));

  const rssMb = process.memoryUsage().rss / 2 ** 20;
  // usearch fixes efSearch per native index: save once, load once per efSearch measured.
  const dir = await mkdtemp(path.join(tmpdir(), "vector-index-bench-"));
  const file = path.join(dir, "users.usearch");
  const saveStarted = performance.now();
  await index.save(file);
  const saveSeconds = (performance.now() - saveStarted) / 1000;
  await index.close();
  const queryRows = rowsOf(queries, dim);
  const runs = [];
  let loadSeconds = 0;
  for (const efSearch of list(options.efSearch)) {
    const loadStarted = performance.now();
    const loaded = await HnswIndex.load(file, { expected: version, params: { efSearch } });
    loadSeconds = (performance.now() - loadStarted) / 1000;
    runs.push(await measureEf(loaded, efSearch, queryRows, ground.truth));
    await loaded.close();
  }
  await rm(dir, { recursive: true, force: true });
  return {
    size,
    builtVectors: built,
    complete: built === size,
    dim,
    clusters,
    exact: { queries: exactCount, qps: round(ground.qps, 2) },
    hnsw: {
      params: { m: Number(options.m), efConstruction: Number(options.efConstruction) },
      buildSeconds: round(buildSeconds),
      buildCpuSeconds: round((buildCpu.user + buildCpu.system) / 1e6),
      projectedFullBuildSeconds: round(projectedBuildSeconds),
      buildCheckpoints: checkpoints,
      buildVectorsPerSecond: Math.round(built / buildSeconds),
      saveSeconds: round(saveSeconds),
      loadSeconds: round(loadSeconds),
      runs,
    },
    rssMb: Math.round(rssMb),
  };
}

/** Seconds per chunk over the last checkpoint interval. */
function lastChunkSeconds(checkpoints: [number, number][], chunk: number): number {
  const [n1, t1] = checkpoints.at(-1) ?? [chunk, 0];
  const [n0, t0] = checkpoints.at(-2) ?? [0, 0];
  return ((t1 - t0) / Math.max(1, n1 - n0)) * chunk;
}

async function measureEf(index: HnswIndex, efSearch: number, queryRows: Float32Array[], truth: string[][]) {
  // One query per call, one native thread: the latency a serving call sees.
  const singleStarted = performance.now();
  const single: string[][] = [];
  for (const q of queryRows) single.push((await index.search({ version, vectors: [q] }, k)).hits[0]!.map((h) => h.id));
  const singleQps = queryRows.length / ((performance.now() - singleStarted) / 1000);
  // All queries in one call on every core: the micro-batched throughput.
  const batchStarted = performance.now();
  await index.search({ version, vectors: queryRows }, k);
  const batchQps = queryRows.length / ((performance.now() - batchStarted) / 1000);
  return {
    efSearch,
    recallAt10: round(recallAt(truth, single), 4),
    qpsSingleQuery: Math.round(singleQps),
    qpsBatched: Math.round(batchQps),
  };
}

async function benchMilvus(size: number) {
  let address = options.milvusAddress as string | undefined;
  let stop: () => Promise<void> = async () => undefined;
  if (!address) {
    const executable = await findMilvusLite(process.env.PATH ?? "");
    if (!executable) return { size, skipped: "milvus-lite is not installed (pip install milvus-lite)" };
    const server = await startMilvusLite(executable);
    address = server.address;
    stop = server.stop;
  }
  const catalog = new MilvusCatalog({ address, timeoutMs: 600_000, batchSize: 2_000 });
  try {
    const { data, queries } = makeData(size);
    const rows = rowsOf(data, dim);
    const ground = exact(data, queries);
    const milvusVersion = { ...version, version: `m${Date.now()}` };
    const index = await catalog.createVersion({ version: milvusVersion, dim });
    const progress = bar(`milvus insert ${size}`, size);
    const started = performance.now();
    await index.insert({ version: milvusVersion, ids: rows.map((_, i) => `v${i}`), vectors: rows }, (n) => progress.update(n));
    progress.stop();
    const publishStarted = performance.now();
    await catalog.publish(index, size);
    const insertSeconds = (publishStarted - started) / 1000;
    const publishSeconds = (performance.now() - publishStarted) / 1000;
    const queryRows = rowsOf(queries, dim);
    // The first search may build the segment index; time it on its own.
    const firstStarted = performance.now();
    await index.search({ version: milvusVersion, vectors: [queryRows[0]!] }, k);
    const firstSearchSeconds = (performance.now() - firstStarted) / 1000;
    const measured = queryRows.slice(0, Math.min(queryRows.length, Number(options.milvusQueries)));
    const singleStarted = performance.now();
    const got: string[][] = [];
    for (const q of measured) got.push((await index.search({ version: milvusVersion, vectors: [q] }, k)).hits[0]!.map((h) => h.id));
    const singleQps = measured.length / ((performance.now() - singleStarted) / 1000);
    const batchStarted = performance.now();
    await index.search({ version: milvusVersion, vectors: measured }, k);
    const batchQps = measured.length / ((performance.now() - batchStarted) / 1000);
    await catalog.dropVersion(milvusVersion);
    return {
      size,
      dim,
      server: options.milvusAddress ? address : "milvus-lite (FAISS HNSW per segment)",
      insertSeconds: round(insertSeconds),
      flushIndexAndPublishSeconds: round(publishSeconds),
      firstSearchSeconds: round(firstSearchSeconds),
      recallAt10: round(recallAt(ground.truth, got), 4),
      recallQueries: Math.min(ground.truth.length, got.length),
      qpsSingleQuery: Math.round(singleQps),
      qpsBatched: Math.round(batchQps),
      exactQps: round(ground.qps, 2),
    };
  } finally {
    await catalog.close();
    await stop();
  }
}

const embedded = [];
for (const size of list(options.sizes)) embedded.push(await benchEmbedded(size));
const milvusSize = Number(options.milvusSize);
const milvus = milvusSize > 0 ? await benchMilvus(milvusSize) : undefined;
process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: "vector-index",
      k,
      queries: queryCount,
      data: clustersPer > 0 ? `unit vectors around one random centre per ${clustersPer} (seed ${options.seed})` : "uniform unit vectors",
      cpus: (await import("node:os")).cpus().length,
      embedded,
      milvus,
    },
    null,
    2,
  )}\n`,
);
process.exit(0);
