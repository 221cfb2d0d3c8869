// Served recommendations for the outcome join (`npm run outcomes`): a sampled share of RecommendItems answers,
// user ids pseudonymised with the serving salt (the raw id never reaches the file), written through the
// runtime's bounded JSON-lines log so a slow or full disk drops records (counted) instead of slowing calls.
import { JsonLinesLog, type JsonLinesLogOptions } from "@funnel/runtime";
import { pseudonymiseUserId, SERVED_RECOMMENDATIONS_LOG, type ServedRecommendation } from "@funnel/two-tower";
import type { RecommendContext, RecommendedItem } from "./recommender.js";

export interface ServedCall {
  requestId: string;
  userId: string | undefined;
  context: RecommendContext;
  model: { name: string; version: string };
  items: readonly RecommendedItem[];
}

export class ServedRecommendationLog {
  private readonly log: JsonLinesLog<ServedRecommendation>;

  constructor(
    private readonly salt: string,
    options: Omit<JsonLinesLogOptions, "name">,
  ) {
    this.log = new JsonLinesLog({ ...options, name: SERVED_RECOMMENDATIONS_LOG });
  }

  /** Returns at once; the record is built only when sampled. */
  record(call: ServedCall): void {
    this.log.offer(() => ({
      ts: new Date().toISOString(),
      requestId: call.requestId,
      user: call.userId ? pseudonymiseUserId(call.userId, this.salt) : null,
      model: call.model.name,
      version: call.model.version,
      ...(call.context.page ? { page: call.context.page } : {}),
      ...(call.context.device ? { device: call.context.device } : {}),
      items: call.items.map((item, i) => ({ itemId: item.itemId, rank: i + 1, score: item.score, source: item.source })),
    }));
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
