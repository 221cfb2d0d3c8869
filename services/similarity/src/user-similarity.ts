// Data plane of the Similarity service (no gRPC here). Every call leases one version and answers from that
// version's user index only, so a response never mixes versions, even while the alias moves.
import type { ModelSlot } from "@funnel/runtime";
import { InvalidArgumentError } from "@funnel/runtime";
import { pseudonymiseUserId, type RawUserFeatures } from "@funnel/two-tower";
import type { Attributes, SearchHit } from "@funnel/vector-index";
import type { IndexedTwoTower } from "./indexed-two-tower.js";
import { embedFeatures, resolveUser, type UserQuery } from "./user-vector.js";

export interface SimilarUsersRequest {
  query: UserQuery;
  k: number;
  minScore?: number | undefined;
  /** Leave the queried user out (only meaningful for id queries). */
  excludeSelf: boolean;
  filter?: Attributes | undefined;
  /** Version (or the followed alias) the caller asks for; empty = the one served now. */
  version?: string | undefined;
}

export interface SimilarUsers {
  model: { name: string; version: string };
  users: SearchHit[];
}

export type UserUpsert = { userId: string; vector: Float32Array } | { userId: string; features: RawUserFeatures };

export class UserSimilarity {
  constructor(
    readonly slot: ModelSlot<IndexedTwoTower>,
    private readonly salt: string,
  ) {}

  async findSimilar(request: SimilarUsersRequest): Promise<SimilarUsers> {
    // A caller vector names its own version: the lease is the served one and the index refuses a mismatch
    // (INVALID_ARGUMENT naming both) rather than the slot answering NOT_FOUND.
    const lease = this.slot.acquire({ version: "vector" in request.query ? undefined : request.version });
    try {
      const indexed = lease.model;
      const user = await resolveUser(indexed, request.query, this.salt, "query");
      const self = request.excludeSelf && user.indexedId ? [user.indexedId] : [];
      const result = await indexed.users.search({ version: { model: user.model.name, version: user.model.version }, vectors: [user.vector] }, request.k, {
        excludeIds: self,
        minScore: request.minScore,
        filter: request.filter,
      });
      return { model: indexed.model, users: result.hits[0]! };
    } finally {
      lease.release();
    }
  }

  /**
   * Writes user vectors into the served version's index, visible to the next query. Raw vectors must come
   * from that version (`model`); features go through its user tower. Users are indexed under their pseudonym.
   */
  async upsert(users: readonly UserUpsert[], model: { name: string; version: string } | undefined): Promise<{ model: { name: string; version: string }; upserted: number }> {
    const lease = this.slot.acquire();
    try {
      const indexed = lease.model;
      const hasVectors = users.some((u) => "vector" in u);
      if (hasVectors && !model?.version) {
        throw new InvalidArgumentError("model.version", `is required with raw vectors: name the version that produced them (this server holds ${indexed.model.name} version ${indexed.model.version})`);
      }
      // The upserted user's own id reaches the user tower's id buckets unless the features name one.
      const vectors = await Promise.all(
        users.map((u, i) =>
          "vector" in u ? u.vector : embedFeatures(indexed, { userId: u.userId, ...u.features }, `users[${i}].features`, this.salt),
        ),
      );
      const ids = users.map((u) => pseudonymiseUserId(u.userId, this.salt));
      const attributes = users.map((u) => ("features" in u && u.features.device ? { device: u.features.device } : undefined));
      // Vectors made here are of the leased version; raw ones carry the caller's claim, which the index checks.
      const version = hasVectors ? { model: model?.name || indexed.model.name, version: model!.version } : { model: indexed.model.name, version: indexed.model.version };
      await indexed.users.upsert({ version, ids, vectors, attributes });
      for (const [i, id] of ids.entries()) indexed.upserted.set(id, vectors[i]!);
      return { model: indexed.model, upserted: ids.length };
    } finally {
      lease.release();
    }
  }
}
