// Data plane of the Embedding service (no gRPC here): ids are looked up in the version's stored embeddings,
// feature rows are encoded with the version's feature spec and run through its ONNX tower in micro-batches
// shared by concurrent calls. Every answer comes from one version, the one the call leased.
import {
  InvalidArgumentError,
  MicroBatcher,
  NotFoundError,
  QueueFullError,
  ResourceExhaustedError,
  ResponseCache,
  runGroupedBy,
  type ModelLease,
  type ModelSlot,
} from "@funnel/runtime";
import {
  FeatureEncodingError,
  concatTensors,
  encodeItems,
  encodeUsers,
  itemFeaturesKey,
  pseudonymiseUserId,
  userFeaturesKey,
  type ItemTensors,
  type RawItemFeatures,
  type RawUserFeatures,
  type ServedTwoTower,
  type StoredEmbeddings,
  type UserTensors,
} from "@funnel/two-tower";
import type { Registry } from "prom-client";

export type UserInput = { id: string } | { features: RawUserFeatures };
export type ItemInput = { id: string } | { features: RawItemFeatures };

export interface Embedded {
  /** Registered model name and the concrete version that produced every vector. */
  name: string;
  version: number;
  /** One per input, in input order; each of length dim. */
  vectors: Float32Array[];
}

export interface EmbedderOptions {
  slot: ModelSlot<ServedTwoTower>;
  /** Salt of the user-id pseudonyms stored in the model version. */
  salt: string;
  maxBatch: number;
  batchDelayMs: number;
  maxQueue: number;
  cacheEntries: number;
  metricsRegistry?: Registry;
}

interface Row<T> {
  served: ServedTwoTower;
  tensors: T;
}

/** A feature row's vector with its drift bins, so a cache hit is counted in the drift profile like a miss. */
interface CachedRow {
  vector: Float32Array;
  /** Undefined when the version has no drift profile (or profiling is off). */
  bins: number[] | undefined;
}

type Entity = "users" | "items";

/** About 100 bytes an entry: ~10 MB at most, enough for the active users of a shop. */
const PSEUDONYM_CACHE_ENTRIES = 100_000;

export class Embedder {
  private readonly userBatcher: MicroBatcher<Row<UserTensors>, Float32Array>;
  private readonly itemBatcher: MicroBatcher<Row<ItemTensors>, Float32Array>;
  private readonly cache: ResponseCache<CachedRow>;
  /** id → pseudonym: a SHA-256 per by-id user showed in the per-call profile; the same users come back often. */
  private readonly pseudonyms = new ResponseCache<string>({ name: "embedding-pseudonyms", maxEntries: PSEUDONYM_CACHE_ENTRIES });

  constructor(private readonly options: EmbedderOptions) {
    const batching = { maxBatchSize: options.maxBatch, maxDelayMs: options.batchDelayMs, maxQueue: options.maxQueue };
    this.userBatcher = new MicroBatcher({ ...batching, run: (rows) => runBatch(rows, (served, t) => served.embedUsers(t)) });
    this.itemBatcher = new MicroBatcher({ ...batching, run: (rows) => runBatch(rows, (served, t) => served.embedItems(t)) });
    this.cache = new ResponseCache({ name: "embedding", maxEntries: options.cacheEntries, registry: options.metricsRegistry });
  }

  /** The version a call would be answered with now (for callers that only need the ref). */
  get slot(): ModelSlot<ServedTwoTower> {
    return this.options.slot;
  }

  embedUsers(inputs: readonly UserInput[], call: { version?: string; signal?: AbortSignal } = {}): Promise<Embedded> {
    return this.embed("users", inputs, call, {
      stored: (served) => served.users,
      storedKey: (id) => this.pseudonyms.getOrCompute(id, () => pseudonymiseUserId(id, this.options.salt)),
      encode: (served, features) => encodeUsers(served.spec, [features]),
      bins: (served, tensors) => served.monitor.userBins(tensors),
      observe: (served, bins, vector) => served.monitor.observeUser(bins, vector),
      key: userFeaturesKey,
      batcher: this.userBatcher,
    });
  }

  embedItems(inputs: readonly ItemInput[], call: { version?: string; signal?: AbortSignal } = {}): Promise<Embedded> {
    return this.embed("items", inputs, call, {
      stored: (served) => served.items,
      storedKey: (id) => id,
      encode: (served, features) => encodeItems(served.spec, [features]),
      bins: (served, tensors) => served.monitor.itemBins(tensors),
      observe: (served, bins) => served.monitor.observeItem(bins),
      key: itemFeaturesKey,
      batcher: this.itemBatcher,
    });
  }

  private async embed<F, T>(
    entity: Entity,
    inputs: readonly ({ id: string } | { features: F })[],
    call: { version?: string; signal?: AbortSignal },
    how: {
      stored: (served: ServedTwoTower) => StoredEmbeddings;
      storedKey: (id: string) => string;
      encode: (served: ServedTwoTower, features: F) => T;
      /** The row's bins in the version's drift profile (undefined without one). */
      bins: (served: ServedTwoTower, tensors: T) => number[] | undefined;
      /** Counts a feature row into the version's drift profile (ids are not counted: no features were sent). */
      observe: (served: ServedTwoTower, bins: number[] | undefined, vector: Float32Array) => void;
      /** Canonical key of a feature record (equal records, equal keys). */
      key: (features: F) => string;
      batcher: MicroBatcher<Row<T>, Float32Array>;
    },
  ): Promise<Embedded> {
    const lease: ModelLease<ServedTwoTower> = this.options.slot.acquire({ version: call.version });
    try {
      const served = lease.model;
      const stored = how.stored(served);
      const field = entity === "users" ? "user_id" : "item_id";
      const vectors: Float32Array[] = new Array(inputs.length);
      // Only rows that go to the model wait; ids and cache hits are filled in place, so a call answered
      // entirely from stored vectors and the cache allocates no promise per input.
      let pending: Promise<void>[] | undefined;
      try {
        for (let i = 0; i < inputs.length; i++) {
          const input = inputs[i]!;
          if ("id" in input) {
            const row = stored.rowOf(how.storedKey(input.id));
            if (row === undefined) {
              throw new NotFoundError(
                `${entity}[${i}].${field} "${input.id}" has no stored embedding in ${lease.name} version ${lease.version}; send its features instead`,
              );
            }
            vectors[i] = stored.vector(row);
            continue;
          }
          const key = `${lease.version}\u0000${entity}\u0000${how.key(input.features)}`;
          const cached = this.cache.get(key);
          if (cached) {
            how.observe(served, cached.bins, cached.vector);
            vectors[i] = cached.vector;
            continue;
          }
          const tensors = encodeOne(entity, i, () => how.encode(served, input.features));
          const bins = how.bins(served, tensors);
          pending ??= [];
          pending.push(
            submit(how.batcher, { served, tensors }, call.signal).then((vector) => {
              this.cache.set(key, { vector, bins });
              how.observe(served, bins, vector);
              vectors[i] = vector;
            }),
          );
        }
      } catch (error) {
        // Rows already submitted still settle; their outcome no longer matters to anyone.
        for (const row of pending ?? []) row.catch(() => {});
        throw error;
      }
      if (pending) await Promise.all(pending);
      return { name: lease.name, version: lease.version, vectors };
    } finally {
      lease.release();
    }
  }
}

/** Encodes one record; a bad field becomes INVALID_ARGUMENT naming it as the caller wrote it. */
function encodeOne<T>(entity: Entity, index: number, encode: () => T): T {
  try {
    return encode();
  } catch (error) {
    if (error instanceof FeatureEncodingError) {
      // The encoder names the record `users[0]` (it saw one row); the caller knows it as users[index].features.
      throw new InvalidArgumentError(`${entity}[${index}].features`, error.message.replace(/^(users|items)\[0\]\.?/, ""));
    }
    throw error;
  }
}

async function submit<T>(batcher: MicroBatcher<Row<T>, Float32Array>, row: Row<T>, signal: AbortSignal | undefined): Promise<Float32Array> {
  try {
    return await batcher.submit(row, signal);
  } catch (error) {
    if (error instanceof QueueFullError) {
      throw new ResourceExhaustedError(`embedding queue is full: the server is over capacity; retry after a short backoff (${error.message})`);
    }
    throw error;
  }
}

/**
 * One ONNX run per model version among the rows (normally one version; during a swap calls already leased on
 * the old version finish on it). Returns one copied vector per row so cached vectors do not pin the batch.
 */
function runBatch<T extends { count: number }>(
  rows: Row<T>[],
  run: (served: ServedTwoTower, tensors: T) => Promise<Float32Array>,
): Promise<Float32Array[]> {
  return runGroupedBy(
    rows,
    (row) => row.served,
    async (served, group) => {
      const result = await run(served, concatTensors(group.map((row) => row.tensors)));
      const dim = served.dim;
      return group.map((_, k) => result.slice(k * dim, (k + 1) * dim));
    },
  );
}
