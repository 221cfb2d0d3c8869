// Thin adapter between the wire and the data plane: validate → recommend / guide → encode. No model logic here.
import {
  ConversionEstimate,
  DeviceType,
  type GuideNextStepRequest,
  type GuideNextStepResponse,
  PageType,
  type RecommendationContext,
  type RecommendationServiceService,
  RecommendationSource,
  type RecommendItemsRequest,
  type RecommendItemsResponse,
  type UserFeatures,
} from "@funnel/proto";
import { checkUserFeatures, InvalidArgumentError, MAX_ID_CHARS, modelVersionKey, requestIdKey, requireKnownEnum, requireText, type ServiceHandlers } from "@funnel/runtime";
import { deviceName, pageName } from "@funnel/similarity";
import { PAGES, type RawUserFeatures, rawUserFeaturesFromProto } from "@funnel/two-tower";
import type { RecommendationConfig } from "../config.js";
import type { ItemSource, RecommendContext, Recommender } from "../recommender.js";
import type { ServedRecommendationLog } from "../served-recommendation-log.js";

const DEFAULT_K = 10;
const MAX_ITEMS = 100;

const SOURCES: Record<ItemSource, RecommendationSource> = {
  item_retrieval: RecommendationSource.RECOMMENDATION_SOURCE_ITEM_RETRIEVAL,
  similar_users: RecommendationSource.RECOMMENDATION_SOURCE_SIMILAR_USERS,
  popularity: RecommendationSource.RECOMMENDATION_SOURCE_POPULARITY,
  hybrid: RecommendationSource.RECOMMENDATION_SOURCE_HYBRID,
  item_neighbours: RecommendationSource.RECOMMENDATION_SOURCE_ITEM_NEIGHBOURS,
};

export function recommendationHandlers(
  recommender: Recommender,
  config: Pick<RecommendationConfig, "maxExcluded">,
  servedLog?: ServedRecommendationLog,
): ServiceHandlers<typeof RecommendationServiceService> {
  return {
    async recommendItems(request: RecommendItemsRequest, ctx): Promise<RecommendItemsResponse> {
      const k = request.topK === 0 ? DEFAULT_K : request.topK;
      if (k > MAX_ITEMS) throw new InvalidArgumentError("top_k", `must be 1..${MAX_ITEMS} (0 means ${DEFAULT_K}); got ${request.topK}`);
      const context = contextOf(request.context);
      const excluded = request.excludeItemIds.length + context.recentItemIds.length;
      if (excluded > config.maxExcluded) {
        throw new InvalidArgumentError("exclude_item_ids", `with context.recent_item_ids has ${excluded} ids, over the limit of ${config.maxExcluded}; send the most recent ones`);
      }
      const user = userOf(request.userId, request.features);
      const answer = await recommender.recommend({
        ...user,
        context,
        k,
        excludeItemIds: request.excludeItemIds,
        version: request.model?.version?.trim() || undefined,
      });
      ctx.values.set(modelVersionKey, answer.model.version);
      servedLog?.record({ requestId: ctx.values.get(requestIdKey), userId: user.userId, context, model: answer.model, items: answer.items });
      return { items: answer.items.map((i) => ({ itemId: i.itemId, score: i.score, source: SOURCES[i.source] })), model: answer.model };
    },

    async guideNextStep(request: GuideNextStepRequest, ctx): Promise<GuideNextStepResponse> {
      const answer = await recommender.guide({
        ...userOf(request.userId, request.features),
        context: contextOf(request.context),
        version: request.model?.version?.trim() || undefined,
      });
      ctx.values.set(modelVersionKey, answer.model.version);
      return {
        nextPage: answer.nextPage ? PAGES.indexOf(answer.nextPage) + 1 : PageType.PAGE_TYPE_UNSPECIFIED,
        conversionProbability: answer.conversionProbability,
        conversionEstimate: answer.estimate === "model" ? ConversionEstimate.CONVERSION_ESTIMATE_MODEL : ConversionEstimate.CONVERSION_ESTIMATE_PAGE_BASE_RATE,
        suggestions: answer.suggestions.map((s) => ({ targetPage: PAGES.indexOf(s.page) + 1, action: s.action, score: s.score, reason: s.reason })),
        model: answer.model,
      };
    },
  };
}

/** A user id, features, both (features serve when the id is unknown), or neither (cold start). */
function userOf(userId: string, features: UserFeatures | undefined): { userId?: string; features?: RawUserFeatures } {
  const out: { userId?: string; features?: RawUserFeatures } = {};
  if (userId !== "") out.userId = requireText(userId, "user_id", MAX_ID_CHARS);
  if (features) {
    checkUserFeatures(features, "features");
    out.features = rawUserFeaturesFromProto(features);
  }
  return out;
}

function contextOf(context: RecommendationContext | undefined): RecommendContext {
  const page = requireKnownEnum(context?.currentPage ?? 0, PageType, "context.current_page");
  const device = requireKnownEnum(context?.device ?? 0, DeviceType, "context.device");
  const recentItemIds = context?.recentItemIds ?? [];
  for (const [i, id] of recentItemIds.entries()) requireText(id, `context.recent_item_ids[${i}]`, MAX_ID_CHARS);
  return { page: page === 0 ? undefined : pageName(page), device: device === 0 ? undefined : deviceName(device), recentItemIds };
}
