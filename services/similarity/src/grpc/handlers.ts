// Thin adapter between the wire and the data plane: validate → search / upsert → encode. No model logic here.
import {
  DeviceType,
  type FindSimilarUsersRequest,
  type FindSimilarUsersResponse,
  type SimilarityServiceService,
  type UpsertUserVectorsRequest,
  type UpsertUserVectorsResponse,
} from "@funnel/proto";
import { InvalidArgumentError, MAX_ID_CHARS, checkUserFeatures, modelVersionKey, requireCount, requireKnownEnum, requireText, type ServiceHandlers } from "@funnel/runtime";
import { rawUserFeaturesFromProto } from "@funnel/two-tower";
import { MAX_K } from "@funnel/vector-index";
import type { SimilarityConfig } from "../config.js";
import type { UserSimilarity, UserUpsert } from "../user-similarity.js";
import { deviceName, requireVector } from "./request-checks.js";

const DEFAULT_K = 10;

export function similarityHandlers(similarity: UserSimilarity, config: Pick<SimilarityConfig, "maxUpserts">): ServiceHandlers<typeof SimilarityServiceService> {
  return {
    async findSimilarUsers(request: FindSimilarUsersRequest, ctx): Promise<FindSimilarUsersResponse> {
      const k = request.topK === 0 ? DEFAULT_K : request.topK;
      if (k > MAX_K) throw new InvalidArgumentError("top_k", `must be 1..${MAX_K} (0 means ${DEFAULT_K}); got ${request.topK}`);
      if (request.minScore !== undefined && !Number.isFinite(request.minScore)) throw new InvalidArgumentError("min_score", "must be a finite number");
      const version = request.model?.version?.trim() || undefined;
      let query: Parameters<UserSimilarity["findSimilar"]>[0]["query"];
      switch (request.query?.$case) {
        case "userId":
          query = { userId: requireText(request.query.value, "user_id", MAX_ID_CHARS) };
          break;
        case "features":
          checkUserFeatures(request.query.value, "features");
          query = { features: rawUserFeaturesFromProto(request.query.value) };
          break;
        case "vector":
          if (!version) throw new InvalidArgumentError("model.version", "is required with a vector query: name the model version that produced the vector");
          query = { vector: requireVector(request.query.value.values, "vector.values"), model: { name: request.model?.name || similarity.slot.name, version } };
          break;
        default:
          throw new InvalidArgumentError("query", "set one of user_id, features or vector");
      }
      const device = requireKnownEnum(request.filter?.device ?? 0, DeviceType, "filter.device");
      const answer = await similarity.findSimilar({
        query,
        k,
        minScore: request.minScore,
        excludeSelf: request.excludeSelf ?? true,
        filter: device === 0 ? undefined : { device: deviceName(device) },
        version,
      });
      ctx.values.set(modelVersionKey, answer.model.version);
      return { users: answer.users.map((hit) => ({ id: hit.id, score: hit.score })), model: answer.model };
    },

    async upsertUserVectors(request: UpsertUserVectorsRequest, ctx): Promise<UpsertUserVectorsResponse> {
      requireCount(request.users.length, "users", config.maxUpserts);
      const users: UserUpsert[] = request.users.map((user, i) => {
        const userId = requireText(user.userId, `users[${i}].user_id`, MAX_ID_CHARS);
        switch (user.source?.$case) {
          case "vector":
            return { userId, vector: requireVector(user.source.value.values, `users[${i}].vector.values`) };
          case "features":
            checkUserFeatures(user.source.value, `users[${i}].features`);
            return { userId, features: rawUserFeaturesFromProto(user.source.value) };
          default:
            throw new InvalidArgumentError(`users[${i}]`, "set either vector or features");
        }
      });
      const model = request.model?.version ? { name: request.model.name, version: request.model.version.trim() } : undefined;
      const answer = await similarity.upsert(users, model);
      ctx.values.set(modelVersionKey, answer.model.version);
      return { upserted: answer.upserted, model: answer.model };
    },
  };
}
