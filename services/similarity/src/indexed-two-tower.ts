// A two-tower version together with the vector indexes built over its stored user and item embeddings and
// the optional serving statistics of its model directory. It is what the similarity and recommendation
// slots hold, so a version and its indexes are loaded, swapped and released as one: a call that leased a
// version searches that version's index and no other.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { ModelSlot, SharedResources } from "@funnel/runtime";
import {
  DEVELOPMENT_PSEUDONYM_SALT,
  type ConversionHead,
  type DriftReport,
  type InteractionStats,
  type ItemNeighbours,
  MODEL_FILES,
  OPTIONAL_MODEL_FILES,
  parseConversionHead,
  parseInteractionStats,
  parseItemNeighbours,
  parseServedPolicy,
  type SaltCheck,
  type ServedDriftOptions,
  type ServedPolicyFile,
  ServedTwoTower,
  type StoredEmbeddings,
  servedDriftOptions,
} from "@funnel/two-tower";
import { type Attributes, ExactIndex, HnswIndex, IndexStateError, type IndexVersion, type MilvusCatalog, type VectorIndex } from "@funnel/vector-index";

export interface IndexOptions {
  /** Entities below which exact search is used instead of HNSW (exact answers, no build). */
  exactBelow: number;
  /** When set, vectors live in Milvus (one collection per version and entity) instead of in process. */
  milvus?: MilvusCatalog | undefined;
  /** Milvus: collections the alias left longer ago than this are dropped when a new version is published. */
  retiredGraceMs?: number;
  /** Profiling of the user rows encoded for callers (servedDriftOptions); absent: drift reported as off. */
  drift?: ServedDriftOptions;
  /** The serving salt, checked against the fingerprint the version records (ServedTwoTowerOptions.salt). */
  salt?: SaltCheck;
}

export class IndexedTwoTower {
  /** Vectors written by UpsertUserVectors, by pseudonym: the index has them, the stored matrix does not. */
  readonly upserted = new Map<string, Float32Array>();

  private constructor(
    readonly served: ServedTwoTower,
    /** Model name and version the indexes are named by (what a query vector must come from). */
    readonly model: { name: string; version: string },
    readonly users: VectorIndex,
    readonly items: VectorIndex,
    /** Absent in versions trained before the file existed. */
    readonly stats: InteractionStats | undefined,
    readonly conversionHead: ConversionHead | undefined,
    /** Top-K neighbours per item (a candidate source of RecommendItems); absent in older versions. */
    readonly neighbours: ItemNeighbours | undefined,
    /** Blend weights fitted on validation; absent in older versions (served with the configured weights). */
    readonly policy: ServedPolicyFile | undefined,
    /** Offline figures of the served policy and each component, from metrics.json (what ListModels shows). */
    private readonly figures: OfflineFigure[],
  ) {}

  static async load(name: string, dir: string, version: number, options: IndexOptions): Promise<IndexedTwoTower> {
    const served = await ServedTwoTower.load(dir, version, { ...options.drift, salt: options.salt });
    const indexes: VectorIndex[] = [];
    try {
      const [stats, head, neighbours, policy, metrics] = await Promise.all([
        readOptional(dir, OPTIONAL_MODEL_FILES.interactionStats, parseInteractionStats),
        readOptional(dir, OPTIONAL_MODEL_FILES.conversionHead, parseConversionHead),
        readOptional(dir, OPTIONAL_MODEL_FILES.itemNeighbours, parseItemNeighbours),
        readOptional(dir, OPTIONAL_MODEL_FILES.servedPolicy, parseServedPolicy),
        readOptional(dir, MODEL_FILES.metrics, (value) => value),
      ]);
      if (head && head.dim !== served.dim) throw new Error(`${OPTIONAL_MODEL_FILES.conversionHead}: dimension ${head.dim}, the towers have ${served.dim}`);
      const model = { name, version: String(version) };
      const users = await buildIndex({ model: name, version: model.version, entity: "users" }, served.users, options, (id) => userAttributes(stats, id));
      indexes.push(users);
      const items = await buildIndex({ model: name, version: model.version, entity: "items" }, served.items, options, (id) => itemAttributes(stats, id));
      return new IndexedTwoTower(served, model, users, items, stats, head, neighbours, policy, offlineFigures(metrics));
    } catch (error) {
      await Promise.all(indexes.map((i) => i.close()));
      await served.close();
      throw error;
    }
  }

  get dim(): number {
    return this.served.dim;
  }

  /** The version's drift (the process's one monitor of it, shared with an embedding slot serving it too). */
  drift(): DriftReport {
    return this.served.drift();
  }

  /** The served policy's and each component's test figures at training time (empty for older versions). */
  evaluation(): OfflineFigure[] {
    return this.figures;
  }

  /** The version tag of vectors this version makes (what its indexes accept). */
  get versionRef(): { model: string; version: string } {
    return { model: this.model.name, version: this.model.version };
  }

  async close(): Promise<void> {
    await Promise.all([this.users.close(), this.items.close()]);
    await this.served.close();
  }
}

/** Slot kind of an indexed version; the index settings are part of it, so only identical builds are shared. */
export function indexedSlotKind(options: IndexOptions): string {
  return options.milvus ? `two-tower-index:milvus-${options.milvus.address}` : `two-tower-index:exact-below-${options.exactBelow}`;
}

/** The process-wide slot of indexed versions of `model@ref` (shared by similarity and recommendation). */
export function indexedTwoTowerSlot(shared: SharedResources, model: string, ref: string, options: Omit<IndexOptions, "drift" | "salt">): ModelSlot<IndexedTwoTower> {
  const drift = servedDriftOptions(shared.models, model);
  return shared.models.slot({
    name: model,
    ref,
    kind: indexedSlotKind(options),
    load: (dir, version) => IndexedTwoTower.load(model, dir, version, { ...options, drift, salt: shared.models.pseudonymSaltCheck(DEVELOPMENT_PSEUDONYM_SALT) }),
  });
}

async function buildIndex(
  version: IndexVersion,
  stored: StoredEmbeddings,
  options: IndexOptions,
  attributes: (id: string) => Attributes | undefined,
): Promise<VectorIndex> {
  const vectors = stored.ids.map((_, row) => stored.vector(row));
  const request = { version, ids: stored.ids, vectors, attributes: stored.ids.map(attributes) };
  if (options.milvus) return backfillMilvus(options.milvus, request, stored.dim, options.retiredGraceMs);
  const index: VectorIndex =
    stored.size < options.exactBelow
      ? new ExactIndex({ version, dim: stored.dim, initialCapacity: stored.size + 64 })
      : new HnswIndex({ version, dim: stored.dim });
  await index.upsert(request);
  return index;
}

/**
 * Writes the version's vectors into its own collection (upserts: a version loaded again, by a restart or a
 * second replica, rewrites the same rows), then moves the entity's alias to it once every stored vector is
 * counted there. The index stays bound to the version's collection, never to the alias.
 */
async function backfillMilvus(
  catalog: MilvusCatalog,
  request: { version: IndexVersion; ids: readonly string[]; vectors: Float32Array[]; attributes: (Attributes | undefined)[] },
  dim: number,
  retiredGraceMs: number | undefined,
): Promise<VectorIndex> {
  const index = await catalog.createVersion({ version: request.version, dim });
  await index.upsert(request);
  await index.flush();
  const count = await index.size();
  // Upserted users of earlier serving may add rows; fewer than the stored vectors is an incomplete backfill.
  if (count < request.ids.length) {
    throw new IndexStateError(`backfill of ${index.collection} is incomplete: ${count} of ${request.ids.length} vectors; the alias was not moved`);
  }
  await catalog.publish(index, count);
  if (retiredGraceMs !== undefined) {
    // Housekeeping, not part of serving this version: a failure here leaves old collections for the next try.
    await catalog.dropRetired({ model: request.version.model, entity: request.version.entity, graceMs: retiredGraceMs }).catch(() => undefined);
  }
  return index;
}

function userAttributes(stats: InteractionStats | undefined, id: string): Attributes | undefined {
  const user = stats?.users[id];
  return user ? { device: user.device } : undefined;
}

function itemAttributes(stats: InteractionStats | undefined, id: string): Attributes | undefined {
  const item = stats?.items[id];
  return item ? { page: item.page } : undefined;
}

/** One line of a version's offline evaluation: a policy (the served blend or a component) on the test split. */
export interface OfflineFigure {
  policy: string;
  split: string;
  recallAt10: number;
  ndcgAt10: number;
  usersScored: number;
}

/**
 * The test figures metrics.json holds: the served policy (`served`, when the version has it), the bare
 * two-tower (`test`) and each baseline. Tolerant of older files: what is missing is left out, never guessed.
 */
function offlineFigures(metrics: unknown): OfflineFigure[] {
  const m = metrics as { split?: unknown; test?: unknown; served?: { test?: unknown }; baselines?: Record<string, unknown> } | undefined;
  if (!m || typeof m !== "object") return [];
  const split = typeof m.split === "string" ? m.split : "";
  const figures: OfflineFigure[] = [];
  const add = (policy: string, value: unknown) => {
    const r = value as Record<string, unknown> | undefined;
    if (typeof r?.["recall@10"] !== "number") return;
    figures.push({
      policy,
      split,
      recallAt10: r["recall@10"],
      ndcgAt10: typeof r["ndcg@10"] === "number" ? r["ndcg@10"] : 0,
      usersScored: typeof r.users === "number" ? r.users : 0,
    });
  };
  add("served", m.served?.test);
  add("two-tower", m.test);
  for (const [name, value] of Object.entries(m.baselines ?? {})) add(name, value);
  return figures;
}

async function readOptional<T>(dir: string, file: string, parse: (value: unknown) => T): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, file), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return parse(JSON.parse(text));
}
