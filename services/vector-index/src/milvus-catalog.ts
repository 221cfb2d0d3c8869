import { DataType, MilvusClient } from "@zilliz/milvus2-sdk-node";
import { indexLabel } from "./check-request.js";
import { IndexNotFoundError, IndexStateError, InvalidVectorArgumentError, VersionMismatchError } from "./errors.js";
import { DEFAULT_HNSW_PARAMS } from "./hnsw-params.js";
import { milvusCall } from "./milvus-call.js";
import { MILVUS_FIELDS, MilvusIndex } from "./milvus-index.js";
import type { IndexVersion, Metric } from "./vector-index.js";

export interface MilvusCatalogOptions {
  /** host:port of the Milvus gRPC endpoint. */
  address: string;
  /** Per-call deadline; a call past it is UNAVAILABLE. */
  timeoutMs?: number;
  /** HNSW build parameters of new collections. */
  hnsw?: { m?: number; efConstruction?: number; efSearch?: number };
  /** Rows per insert/upsert/delete request. */
  batchSize?: number;
  /**
   * TLS to Milvus: verified against `caFile` (else the system CAs), with a client certificate for mutual TLS.
   * The Milvus SDK reads these files once, when the client is made: a renewed file takes a restart.
   */
  tls?: { caFile?: string; certFile?: string; keyFile?: string; serverName?: string };
  /** Milvus credentials ("user:password" or an API key), sent with every call; only given with TLS. */
  token?: string;
}

/** How long a replica waits for another to finish creating a version's collection (create, then properties). */
const CREATION_WAIT_MS = 10_000;

/** Collection properties that make a collection self-describing (milvus-lite drops the description). */
const PROPERTY = {
  model: "funnel.model",
  version: "funnel.version",
  entity: "funnel.entity",
  metric: "funnel.metric",
  /** Epoch ms when an alias moved off this collection; "" while it serves or was never published. */
  retiredAt: "funnel.retired_at",
} as const;

function identifier(text: string): string {
  return text.replace(/[^A-Za-z0-9_]/g, "_");
}

/** `users_two_tower_v3`: one collection per model version and entity. */
export function milvusCollectionName(v: IndexVersion): string {
  return `${identifier(v.entity)}_${identifier(v.model)}_v${identifier(v.version)}`;
}

/** `users_two_tower`: the alias that names the serving version of one model's entity. */
export function milvusAliasName(model: string, entity: string): string {
  return `${identifier(entity)}_${identifier(model)}`;
}

/**
 * The Milvus side of model versions: creates one HNSW/IP collection per version and entity, moves the
 * entity's alias to a version only after its backfill is complete and counted, and drops collections that
 * stopped serving more than a grace period ago. Owns the one client connection.
 */
export class MilvusCatalog {
  readonly client: MilvusClient;
  readonly address: string;
  private readonly hnsw: { m: number; efConstruction: number; efSearch: number };
  private readonly batchSize: number;

  constructor(options: MilvusCatalogOptions) {
    this.address = options.address;
    // Same graph defaults as the embedded index, so switching backends keeps recall.
    const { m, efConstruction, efSearch } = DEFAULT_HNSW_PARAMS;
    this.hnsw = { m, efConstruction, efSearch, ...options.hnsw };
    this.batchSize = options.batchSize ?? 1000;
    const tls = options.tls;
    this.client = new MilvusClient({
      address: options.address,
      timeout: options.timeoutMs ?? 10_000,
      logLevel: "error",
      maxRetries: 2,
      ...(tls ? { ssl: true, tls: { rootCertPath: tls.caFile, certChainPath: tls.certFile, privateKeyPath: tls.keyFile, serverName: tls.serverName } } : {}),
      ...(options.token ? { token: options.token } : {}),
    });
    this.watchConnect();
  }

  /** Set when the client's connect failed: the SDK then fails every later call on that same promise. */
  private connectFailed = false;

  private watchConnect(): void {
    // The client connects eagerly; a refused connection must surface per call (UNAVAILABLE), not as an
    // unhandled rejection that kills the process.
    this.client.connectPromise.catch(() => {
      this.connectFailed = true;
    });
  }

  private call<T>(what: string, run: () => Promise<T>): Promise<T> {
    return milvusCall(this.address, what, run);
  }

  /** Throws UNAVAILABLE when Milvus cannot be reached; a service maps that to NOT_SERVING for what needs it. */
  async ping(): Promise<void> {
    // A client made while Milvus was down never recovers by itself (every call awaits its rejected connect):
    // connect again, so a service started during an outage serves once Milvus is back.
    if (this.connectFailed) {
      this.connectFailed = false;
      this.client.connect(MilvusClient.sdkInfo.version);
      this.watchConnect();
    }
    await this.call("list collections", () => this.client.showCollections());
  }

  /** Creates (or reopens, when it already exists with the same dimension) the collection of a version. */
  async createVersion(args: { version: IndexVersion; dim: number; metric?: Metric }): Promise<MilvusIndex> {
    const { version, dim } = args;
    const metric = args.metric ?? "ip";
    if (!Number.isInteger(dim) || dim < 1 || dim > 32_768) throw new InvalidVectorArgumentError("dim", `must be an integer in 1..32768, got ${dim}`);
    const name = milvusCollectionName(version);
    const reopen = async () => {
      const index = await this.openCreatedCollection(name);
      if (index.dim !== dim) {
        throw new IndexStateError(`collection ${name} already holds ${indexLabel(version)} with dimension ${index.dim}, not ${dim}; drop it first`);
      }
      return index;
    };
    const exists = await this.call(`has ${name}`, () => this.client.hasCollection({ collection_name: name }));
    if (exists.value) return reopen();
    const created = await this.call(`create ${name}`, () =>
      this.client.createCollection({
        collection_name: name,
        consistency_level: "Strong",
        fields: [
          { name: MILVUS_FIELDS.id, data_type: DataType.VarChar, is_primary_key: true, max_length: 256 },
          { name: MILVUS_FIELDS.vector, data_type: DataType.FloatVector, dim },
          { name: MILVUS_FIELDS.attributes, data_type: DataType.JSON },
        ],
        index_params: [
          {
            field_name: MILVUS_FIELDS.vector,
            index_type: "HNSW",
            metric_type: "IP",
            params: { M: this.hnsw.m, efConstruction: this.hnsw.efConstruction },
          },
        ],
      }),
    ).then(
      () => true,
      // Another replica created it between our check and our create: open theirs.
      async (error: unknown) => {
        if ((await this.call(`has ${name}`, () => this.client.hasCollection({ collection_name: name }))).value) return false;
        throw error;
      },
    );
    if (!created) return reopen();
    await this.call(`describe ${name}`, () =>
      this.client.alterCollectionProperties({
        collection_name: name,
        properties: {
          [PROPERTY.model]: version.model,
          [PROPERTY.version]: version.version,
          [PROPERTY.entity]: version.entity,
          [PROPERTY.metric]: metric,
          [PROPERTY.retiredAt]: "",
        },
      }),
    );
    await this.call(`load ${name}`, () => this.client.loadCollection({ collection_name: name }));
    return this.indexFor(name, version, dim, metric);
  }

  /** The index of one version; NOT_FOUND when its collection does not exist. */
  async openVersion(version: IndexVersion): Promise<MilvusIndex> {
    const index = await this.openCollection(milvusCollectionName(version));
    if (index.version.model !== version.model || index.version.version !== version.version || index.version.entity !== version.entity) {
      throw new VersionMismatchError(indexLabel(version), indexLabel(index.version));
    }
    return index;
  }

  /** The version the entity's alias points at now (resolved once: the index stays on that collection). */
  async openServing(model: string, entity: string): Promise<MilvusIndex> {
    const collection = await this.aliasTarget(model, entity);
    if (!collection) throw new IndexNotFoundError(`no version of ${model} (${entity}) is published in Milvus yet; publish one after its backfill`);
    return this.openCollection(collection);
  }

  /**
   * Flushes `index`'s collection, then moves the entity's alias to it, but only when it holds exactly
   * `expectedCount` vectors (the backfill is complete); otherwise FAILED_PRECONDITION and the alias stays where it was. The collection
   * the alias left is stamped as retired now, for `dropRetired`.
   */
  async publish(index: MilvusIndex, expectedCount: number, now: number = Date.now()): Promise<{ alias: string; previous?: string }> {
    // Sealed and indexed before it takes traffic; then the count is of persisted rows.
    await index.flush();
    const count = await index.size();
    const alias = milvusAliasName(index.version.model, index.version.entity);
    if (count !== expectedCount) {
      throw new IndexStateError(
        `backfill of ${indexLabel(index.version)} is incomplete: ${count} of ${expectedCount} vectors in ${index.collection}; ` +
          `alias ${alias} was not moved (finish the backfill, then publish again)`,
      );
    }
    let previous = await this.aliasTarget(index.version.model, index.version.entity);
    if (previous === index.collection) return { alias, previous };
    if (previous === undefined) {
      // Replicas publishing together: the alias another one created first is read back and moved if needed.
      previous = await this.call(`create alias ${alias}`, () => this.client.createAlias({ collection_name: index.collection, alias })).then(
        () => undefined,
        async (error: unknown) => {
          const now = await this.aliasTarget(index.version.model, index.version.entity);
          if (now === undefined) throw error;
          return now;
        },
      );
      if (previous === index.collection) return { alias, previous };
    }
    if (previous !== undefined) {
      await this.call(`move alias ${alias}`, () => this.client.alterAlias({ collection_name: index.collection, alias }));
      await this.setRetiredAt(previous, String(now));
    }
    // A version published again (a rollback) is serving, so it must not be dropped as retired.
    await this.setRetiredAt(index.collection, "");
    return { alias, previous };
  }

  /** Drops this model's collections for `entity` that stopped serving at least `graceMs` ago; returns their names. */
  async dropRetired(args: { model: string; entity: string; graceMs: number; now?: number }): Promise<string[]> {
    const now = args.now ?? Date.now();
    const serving = await this.aliasTarget(args.model, args.entity);
    const shown = await this.call("list collections", () => this.client.showCollections());
    const dropped: string[] = [];
    for (const { name } of shown.data) {
      if (name === serving) continue;
      const { properties } = await this.describe(name);
      if (properties[PROPERTY.model] !== args.model || properties[PROPERTY.entity] !== args.entity) continue;
      const retiredAt = Number(properties[PROPERTY.retiredAt] || Number.NaN);
      if (!Number.isFinite(retiredAt) || now - retiredAt < args.graceMs) continue;
      await this.call(`drop ${name}`, () => this.client.dropCollection({ collection_name: name }));
      dropped.push(name);
    }
    return dropped;
  }

  /** Drops one version's collection now (tests, failed backfills). */
  async dropVersion(version: IndexVersion): Promise<void> {
    const name = milvusCollectionName(version);
    await this.call(`drop ${name}`, () => this.client.dropCollection({ collection_name: name }));
  }

  async close(): Promise<void> {
    await this.client.closeConnection();
  }

  private async aliasTarget(model: string, entity: string): Promise<string | undefined> {
    const alias = milvusAliasName(model, entity);
    try {
      // The SDK insists on collection_name here although the server resolves the alias alone.
      const described = await this.call(`describe alias ${alias}`, () => this.client.describeAlias({ alias, collection_name: alias }));
      return described.collection || undefined;
    } catch (err) {
      if (err instanceof IndexNotFoundError) return undefined;
      throw err;
    }
  }

  private async describe(name: string) {
    const described = await this.call(`describe ${name}`, () => this.client.describeCollection({ collection_name: name }));
    const properties: Record<string, string> = Object.fromEntries(described.properties.map((p) => [p.key, String(p.value)]));
    return { described, properties };
  }

  private async setRetiredAt(name: string, value: string): Promise<void> {
    await this.call(`mark ${name}`, () => this.client.alterCollectionProperties({ collection_name: name, properties: { [PROPERTY.retiredAt]: value } }));
  }

  /**
   * Opens a collection another replica may be creating right now: replicas of a Deployment start together and
   * each creates the version's collection if missing, so one can find it between another's create and the
   * properties it sets next. Waits for those properties (bounded) instead of refusing the collection.
   */
  private async openCreatedCollection(name: string): Promise<MilvusIndex> {
    const until = Date.now() + CREATION_WAIT_MS;
    for (;;) {
      try {
        return await this.openCollection(name);
      } catch (error) {
        if (!(error instanceof IndexNotFoundError) || !error.message.includes(PROPERTY.model) || Date.now() >= until) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  private async openCollection(name: string): Promise<MilvusIndex> {
    const { described, properties } = await this.describe(name);
    const model = properties[PROPERTY.model];
    const version = properties[PROPERTY.version];
    const entity = properties[PROPERTY.entity];
    if (model === undefined || version === undefined || entity === undefined) {
      throw new IndexNotFoundError(`collection ${name} was not created by this package (no ${PROPERTY.model} properties)`);
    }
    const vectorField = described.schema.fields.find((f) => f.name === MILVUS_FIELDS.vector);
    const dim = Number(vectorField?.dim ?? vectorField?.type_params?.find?.((p: { key: string }) => p.key === "dim")?.value);
    const metric = (properties[PROPERTY.metric] as Metric | undefined) ?? "ip";
    await this.call(`load ${name}`, () => this.client.loadCollection({ collection_name: name }));
    return this.indexFor(name, { model, version, entity }, dim, metric);
  }

  private indexFor(collection: string, version: IndexVersion, dim: number, metric: Metric): MilvusIndex {
    return new MilvusIndex({
      client: this.client,
      address: this.address,
      collection,
      version,
      dim,
      metric,
      efSearch: this.hnsw.efSearch,
      batchSize: this.batchSize,
    });
  }
}
