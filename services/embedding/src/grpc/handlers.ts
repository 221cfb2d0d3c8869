// Thin adapter between the wire and the data plane: validate → embed → encode. No model logic here.
import type {
  EmbedItemsRequest,
  EmbedItemsResponse,
  EmbedUsersRequest,
  EmbedUsersResponse,
  EmbeddingServiceService,
} from "@funnel/proto";
import { InvalidArgumentError, MAX_ID_CHARS, checkItemFeatures, checkUserFeatures, modelVersionKey, requireCount, requireText, type CallContext, type ServiceHandlers } from "@funnel/runtime";
import { rawItemFeaturesFromProto, rawUserFeaturesFromProto } from "@funnel/two-tower";
import type { EmbeddingConfig } from "../config.js";
import type { Embedded, Embedder, ItemInput, UserInput } from "../embedder.js";

export function embeddingHandlers(embedder: Embedder, config: Pick<EmbeddingConfig, "maxInputs">): ServiceHandlers<typeof EmbeddingServiceService> {
  return {
    async embedUsers(request: EmbedUsersRequest, ctx): Promise<EmbedUsersResponse> {
      requireCount(request.users.length, "users", config.maxInputs);
      const inputs: UserInput[] = request.users.map((user, i) => {
        const where = `users[${i}]`;
        switch (user.input?.$case) {
          case "userId":
            return { id: requireText(user.input.value, `${where}.user_id`, MAX_ID_CHARS) };
          case "features":
            checkUserFeatures(user.input.value, `${where}.features`);
            return { features: rawUserFeaturesFromProto(user.input.value) };
          default:
            throw new InvalidArgumentError(where, "set either user_id or features");
        }
      });
      const embedded = await embedder.embedUsers(inputs, { version: request.model?.version, signal: ctx.signal });
      return toResponse(ctx, embedded, request.users.map((u) => (u.input?.$case === "userId" ? u.input.value : "")));
    },

    async embedItems(request: EmbedItemsRequest, ctx): Promise<EmbedItemsResponse> {
      requireCount(request.items.length, "items", config.maxInputs);
      const inputs: ItemInput[] = request.items.map((item, i) => {
        const where = `items[${i}]`;
        switch (item.input?.$case) {
          case "itemId":
            return { id: requireText(item.input.value, `${where}.item_id`, MAX_ID_CHARS) };
          case "features":
            checkItemFeatures(item.input.value, `${where}.features`);
            return { features: rawItemFeaturesFromProto(item.input.value) };
          default:
            throw new InvalidArgumentError(where, "set either item_id or features");
        }
      });
      const embedded = await embedder.embedItems(inputs, { version: request.model?.version, signal: ctx.signal });
      return toResponse(
        ctx,
        embedded,
        request.items.map((item) => (item.input?.$case === "itemId" ? item.input.value : item.input?.value.itemId ?? "")),
      );
    },
  };
}

function toResponse(ctx: CallContext, embedded: Embedded, ids: string[]): EmbedUsersResponse {
  const version = String(embedded.version);
  ctx.values.set(modelVersionKey, version);
  return {
    // The encoder only iterates `values`: a Float32Array serves as is, without copying 128 floats into an
    // array of doubles per vector.
    embeddings: embedded.vectors.map((vector, i) => ({ id: ids[i]!, vector: { values: vector as unknown as number[] } })),
    model: { name: embedded.name, version },
  };
}
