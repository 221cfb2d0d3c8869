// A two-tower model version loaded for serving: both ONNX towers, the feature spec, and the stored embeddings
// of the users and items it was trained on. One instance per version; every service that needs the version
// (embedding, similarity, recommendation) shares it through the runtime's model slot.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { DriftMonitor, type DriftMonitorOptions, type DriftReport } from "./drift/drift-monitor.js";
import { parseFeatureProfile } from "./drift/feature-profile.js";
import { acquireMonitor, type ServedDriftOptions } from "./drift/served-drift-options.js";
import { encodeItems, encodeUsers, type FeatureSpec, type ItemTensors, type UserTensors } from "./features/index.js";
import { MODEL_FILES, OPTIONAL_MODEL_FILES, readFloat32LittleEndian } from "./model-directory.js";
import { OnnxTowers } from "./onnx-towers.js";
import { checkPseudonymSalt, type SaltCheck } from "./pseudonymise.js";

/** Stored embeddings of one entity kind, addressable by id. */
export class StoredEmbeddings {
  private readonly rows: Map<string, number>;

  constructor(
    readonly ids: readonly string[],
    /** Row-major [ids.length, dim]. */
    readonly matrix: Float32Array,
    readonly dim: number,
  ) {
    if (matrix.length !== ids.length * dim) {
      throw new Error(`${matrix.length} values for ${ids.length} ids of dim ${dim} (expected ${ids.length * dim})`);
    }
    this.rows = new Map(ids.map((id, row) => [id, row]));
  }

  get size(): number {
    return this.ids.length;
  }

  /** The row of `id`, or undefined when the version has no embedding for it. */
  rowOf(id: string): number | undefined {
    return this.rows.get(id);
  }

  /** A view (not a copy) of the vector of `row`. */
  vector(row: number): Float32Array {
    return this.matrix.subarray(row * this.dim, (row + 1) * this.dim);
  }
}

export interface ServedTwoTowerOptions {
  /** Profile the rows this version encodes against its reference profile; absent: drift is reported as off. */
  drift?: DriftMonitorOptions | undefined;
  /**
   * Serving: take the process's one monitor of this version (servedDriftOptions), so two loaded copies of a
   * version (embedded mode) count into one profile. Absent: this copy has its own (offline CLI, checks).
   */
  share?: ServedDriftOptions["share"];
  /**
   * The serving salt: a version whose manifest records another salt's fingerprint is refused before anything
   * loads (PseudonymSaltMismatchError). Absent: not checked (offline tools that never look up user ids).
   */
  salt?: SaltCheck;
}

export class ServedTwoTower {
  private constructor(
    readonly version: number,
    readonly towers: OnnxTowers,
    readonly users: StoredEmbeddings,
    readonly items: StoredEmbeddings,
    /** Live profile of what this version encodes (unavailable without a reference profile). */
    readonly monitor: DriftMonitor,
    private readonly releaseMonitor: () => void,
  ) {}

  get dim(): number {
    return this.towers.dim;
  }

  get spec() {
    return this.towers.spec;
  }

  /**
   * Loads a model directory (already verified by the registry download) and warms both towers with one
   * row each, so the first real call does not pay onnxruntime's first-run cost.
   */
  static async load(dir: string, version: number, options: ServedTwoTowerOptions = {}): Promise<ServedTwoTower> {
    if (options.salt) {
      const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as { lineage?: { pseudonymSaltFingerprint?: unknown } };
      checkPseudonymSalt(manifest.lineage?.pseudonymSaltFingerprint, version, options.salt);
    }
    // One onnxruntime thread per run: measured on the bench model, a 64-row user-tower run took 0.25-0.29 ms
    // CPU with one thread against 0.44-0.56 ms with the default pool (wall 0.9-1.3 ms against 1.9-2.7 ms),
    // pinned to one core or not; the default pool's threads spin between runs on the event loop's core.
    const towers = await OnnxTowers.load(dir, { intraOpThreads: 1 });
    try {
      const [users, items] = await Promise.all([
        readStored(dir, MODEL_FILES.userIds, MODEL_FILES.userEmbeddings, towers.dim),
        readStored(dir, MODEL_FILES.itemIds, MODEL_FILES.itemEmbeddings, towers.dim),
      ]);
      const create = await loadDriftMonitor(dir, version, towers.spec, items, options.drift);
      const monitor = acquireMonitor(options.share, version, create);
      const served = new ServedTwoTower(version, towers, users, items, monitor.value, monitor.release);
      try {
        await served.embedUsers(encodeUsers(towers.spec, [{}]));
        await served.embedItems(encodeItems(towers.spec, [{}]));
      } catch (error) {
        monitor.release();
        throw error;
      }
      return served;
    } catch (error) {
      await towers.release();
      throw error;
    }
  }

  /** Runs the user tower on encoded rows: [count, dim] (see ONNX_OUTPUT_NAME for their scale). */
  embedUsers(tensors: UserTensors): Promise<Float32Array> {
    return this.towers.embedUsers(tensors);
  }

  embedItems(tensors: ItemTensors): Promise<Float32Array> {
    return this.towers.embedItems(tensors);
  }

  /**
   * One encoded user row (features a caller sent) through the tower, counted into the version's drift profile
   * on the way: what the similarity and recommendation services call. The embedding service batches and caches
   * rows, so it calls monitor.userBins / observeUser itself, around its batcher and cache.
   */
  async embedProfiledUser(tensors: UserTensors): Promise<Float32Array> {
    const bins = this.monitor.userBins(tensors);
    const vector = await this.towers.embedUsers(tensors);
    this.monitor.observeUser(bins, vector);
    return vector;
  }

  /** Read by the runtime (model status RPC, drift metrics): reference vs live histograms and PSI. */
  drift(): DriftReport {
    return this.monitor.report();
  }

  async close(): Promise<void> {
    this.releaseMonitor();
    await this.towers.release();
  }
}

/**
 * Makes the version's drift monitor (called only when the process has none for the version yet). A version without feature-profile.json (trained before profiles existed) or with
 * one this build cannot read still serves: drift is then reported unavailable, with the reason.
 */
async function loadDriftMonitor(
  dir: string,
  version: number,
  spec: FeatureSpec,
  items: StoredEmbeddings,
  options: DriftMonitorOptions | undefined,
): Promise<() => DriftMonitor> {
  if (!options) return () => DriftMonitor.unavailable("drift profiling is turned off in this service");
  const file = path.join(dir, OPTIONAL_MODEL_FILES.featureProfile);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    return () => DriftMonitor.unavailable(`version ${version} has no ${OPTIONAL_MODEL_FILES.featureProfile} (trained before reference profiles); retrain it to compare drift`, options);
  }
  return () => {
    try {
      return DriftMonitor.of(spec, parseFeatureProfile(JSON.parse(text), spec), items.matrix, items.dim, options);
    } catch (error) {
      return DriftMonitor.unavailable(`version ${version}: ${OPTIONAL_MODEL_FILES.featureProfile} cannot be used: ${(error as Error).message}`, options);
    }
  };
}

async function readStored(dir: string, idsFile: string, vectorsFile: string, dim: number): Promise<StoredEmbeddings> {
  const [idsText, bytes] = await Promise.all([readFile(path.join(dir, idsFile), "utf8"), readFile(path.join(dir, vectorsFile))]);
  const ids = idsText.length === 0 ? [] : idsText.replace(/\n$/, "").split("\n");
  try {
    return new StoredEmbeddings(ids, readFloat32LittleEndian(bytes), dim);
  } catch (error) {
    throw new Error(`${vectorsFile}: ${(error as Error).message}`);
  }
}

type TypedArray = Float32Array | Int32Array;

/**
 * Concatenates encoded rows (UserTensors or ItemTensors) into one batch, rows in argument order. Generic over
 * the tensor fields so it follows the encoders when the spec gains an input.
 */
export function concatTensors<T extends { count: number }>(parts: readonly T[]): T {
  if (parts.length === 1) return parts[0]!;
  if (parts.length === 0) throw new RangeError("concatTensors needs at least one part");
  const out: Record<string, unknown> = { count: parts.reduce((n, p) => n + p.count, 0) };
  for (const [key, first] of Object.entries(parts[0]!)) {
    if (key === "count") continue;
    const arrays = parts.map((p) => (p as Record<string, unknown>)[key] as TypedArray);
    const Type = (first as unknown as TypedArray).constructor as new (length: number) => TypedArray;
    const joined = new Type(arrays.reduce((n, a) => n + a.length, 0));
    let offset = 0;
    for (const a of arrays) {
      joined.set(a, offset);
      offset += a.length;
    }
    out[key] = joined;
  }
  return out as T;
}
