import { stat } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { encodeUsers, MODEL_FILES, type RawUserFeatures, ServedTwoTower, type UserTensors } from "@funnel/two-tower";

/** Single-user embedding calls of one version: wall time percentiles and the process CPU time they took. */
export interface LatencySample {
  p50Ms: number;
  p99Ms: number;
  /** Mean process CPU (user + system, every thread) per call: steadier than wall time on a busy machine. */
  cpuMsPerCall: number;
  calls: number;
}

export interface ServingCost {
  modelBytes: number;
  candidate: LatencySample;
  /** Timed in the same process, interleaved with the candidate; null: no production version. */
  production: LatencySample | { error: string } | null;
  /** Untimed rounds run first (onnxruntime and V8 settle). */
  warmupRounds: number;
}

export interface MeasureServingCostOptions {
  /** Timed rounds: one call of each version per round. */
  calls: number;
  warmupRounds?: number;
}

interface Timed {
  served: ServedTwoTower;
  rows: UserTensors[];
  wall: Float64Array;
  cpu: Float64Array;
}

/**
 * Loads the candidate (and production, when given) exactly as the Embedding service does (ServedTwoTower: one
 * onnxruntime thread, warmed) in this one process and times single-user embeddings, the shape of an online
 * request. Both versions get the same users (each encoded with its own feature spec) in alternating rounds
 * whose order flips every round, so a burst of load from other processes on a shared machine lands on both:
 * their ratio is what the gate holds, not an absolute figure that moves with the machine.
 */
export async function measureServingCost(
  candidateDir: string,
  productionDir: string | null,
  users: readonly RawUserFeatures[],
  options: MeasureServingCostOptions,
): Promise<ServingCost> {
  const sizes = await Promise.all([MODEL_FILES.userTower, MODEL_FILES.itemTower].map((f) => stat(path.join(candidateDir, f)).then((s) => s.size)));
  const warmupRounds = options.warmupRounds ?? Math.max(100, Math.ceil(options.calls / 10));
  const candidate = await ServedTwoTower.load(candidateDir, 0);
  let production: ServedTwoTower | { error: string } | null = null;
  try {
    if (productionDir !== null) {
      try {
        production = await ServedTwoTower.load(productionDir, 0);
      } catch (error) {
        production = { error: (error as Error).message };
      }
    }
    const timed = [candidate, ...(production && !("error" in production) ? [production] : [])].map((served): Timed => {
      const encoded = encodeUsers(served.spec, users.length > 0 ? [...users] : [{}]);
      return { served, rows: Array.from({ length: encoded.count }, (_, i) => sliceRows(encoded, i)), wall: new Float64Array(options.calls), cpu: new Float64Array(options.calls) };
    });
    for (let round = -warmupRounds; round < options.calls; round++) {
      const order = round % 2 === 0 ? timed : [...timed].reverse();
      for (const t of order) {
        const row = t.rows[(round + warmupRounds) % t.rows.length]!;
        const cpuStart = process.cpuUsage();
        const start = performance.now();
        await t.served.embedUsers(row);
        const wall = performance.now() - start;
        const cpu = process.cpuUsage(cpuStart);
        if (round < 0) continue;
        t.wall[round] = wall;
        t.cpu[round] = (cpu.user + cpu.system) / 1000;
      }
    }
    const [candidateTimes, productionTimes] = timed;
    return {
      modelBytes: sizes[0]! + sizes[1]!,
      candidate: summarise(candidateTimes!),
      production: production === null || "error" in production ? production : summarise(productionTimes!),
      warmupRounds,
    };
  } finally {
    await candidate.close();
    if (production && !("error" in production)) await production.close();
  }
}

function summarise(t: Timed): LatencySample {
  const calls = t.wall.length;
  return { p50Ms: quantile(t.wall, 0.5), p99Ms: quantile(t.wall, 0.99), cpuMsPerCall: t.cpu.reduce((a, b) => a + b, 0) / calls, calls };
}

function quantile(values: Float64Array, q: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Row `row` of encoded tensors as a batch of one (views, no copies); generic over the tensor fields. */
function sliceRows<T extends { count: number }>(tensors: T, row: number): T {
  const out: Record<string, unknown> = { count: 1 };
  for (const [key, value] of Object.entries(tensors)) {
    if (key === "count") continue;
    const array = value as unknown as Float32Array | Int32Array;
    const width = array.length / tensors.count;
    out[key] = array.subarray(row * width, (row + 1) * width);
  }
  return out as T;
}
