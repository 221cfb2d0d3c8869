// Thin adapter between the wire and the data plane: validate → analyze → encode. No scoring logic here.
import {
  DeviceType,
  PageType,
  type AggregateFeedbackRequest,
  type AggregateFeedbackResponse,
  type AnalyzeBatchRequest,
  type AnalyzeBatchResponse,
  type AnalyzeRequest,
  type AnalyzeResponse,
  type ModelRef,
  type SentimentResult,
  type SentimentServiceService,
} from "@funnel/proto";
import {
  InvalidArgumentError,
  ResourceExhaustedError,
  modelVersionKey,
  requireCount,
  requireKnownEnum,
  requireText,
  type CallContext,
  type ServiceHandlers,
} from "@funnel/runtime";
import { FeedbackAggregator, type Group } from "../aggregation/index.js";
import type { SentimentConfig } from "../config.js";
import type { SentimentScore } from "../scoring/index.js";
import { SentimentAnalyzer } from "../sentiment-analyzer.js";
import { deviceName, pageName, toDistribution, toSentimentResult } from "./proto-mapping.js";

/** How many texts are scored between cancellation checks: small enough to stop quickly, big enough to be cheap. */
const CHECK_EVERY = 32;

/**
 * Lets timers and I/O run (the deadline timer, the client's cancel), then stops if the call has ended. A
 * check alone is not enough: scoring is synchronous, so without yielding the abort could never fire mid-loop.
 * Batches under CHECK_EVERY items never yield, so small calls pay nothing.
 */
async function yieldToEventLoop(ctx: CallContext): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  ctx.throwIfStopped();
}

export function sentimentHandlers(
  /** The analyzer serving now; a function so a reloaded rule set can be swapped in without new handlers. */
  currentAnalyzer: () => SentimentAnalyzer,
  config: Pick<SentimentConfig, "maxTextChars" | "maxBatchItems" | "maxStreamRecords">,
): ServiceHandlers<typeof SentimentServiceService> {
  const model = (ctx: CallContext, analyzer: SentimentAnalyzer): ModelRef => {
    ctx.values.set(modelVersionKey, analyzer.version);
    return { name: SentimentAnalyzer.MODEL_NAME, version: analyzer.version };
  };
  // A cached score is the same object on every hit, so its wire form is built once, not per call.
  const wireResults = new WeakMap<SentimentScore, SentimentResult>();
  const wireResult = (score: SentimentScore): SentimentResult => {
    let result = wireResults.get(score);
    if (!result) {
      result = toSentimentResult(score);
      wireResults.set(score, result);
    }
    return result;
  };

  return {
    async analyze(request: AnalyzeRequest, ctx): Promise<AnalyzeResponse> {
      requireText(request.text, "text", config.maxTextChars);
      requireKnownEnum(request.page, PageType, "page");
      const analyzer = currentAnalyzer();
      return { result: wireResult(analyzer.analyze(request.text, pageName(request.page))), model: model(ctx, analyzer) };
    },

    async analyzeBatch(request: AnalyzeBatchRequest, ctx): Promise<AnalyzeBatchResponse> {
      requireCount(request.items.length, "items", config.maxBatchItems);
      // Validate everything first: a bad item fails the call before any work, naming its index.
      request.items.forEach((item, i) => {
        requireText(item.text, `items[${i}].text`, config.maxTextChars);
        requireKnownEnum(item.page, PageType, `items[${i}].page`);
      });
      const analyzer = currentAnalyzer();
      const results = [];
      for (let i = 0; i < request.items.length; i++) {
        if (i > 0 && i % CHECK_EVERY === 0) await yieldToEventLoop(ctx);
        const item = request.items[i]!;
        results.push(wireResult(analyzer.analyze(item.text, pageName(item.page))));
      }
      return { results, model: model(ctx, analyzer) };
    },

    async aggregateFeedback(requests: AsyncIterable<AggregateFeedbackRequest>, ctx): Promise<AggregateFeedbackResponse> {
      const analyzer = currentAnalyzer();
      const aggregator = new FeedbackAggregator();
      let index = 0;
      for await (const { record } of requests) {
        const field = `records[${index}]`;
        if (index >= config.maxStreamRecords) {
          throw new ResourceExhaustedError(`more than ${config.maxStreamRecords} records in one stream; split the feedback into several streams`);
        }
        if (!record) throw new InvalidArgumentError(`${field}.record`, "must be set");
        requireText(record.text, `${field}.text`, config.maxTextChars);
        requireKnownEnum(record.page, PageType, `${field}.page`);
        requireKnownEnum(record.device, DeviceType, `${field}.device`);
        if (record.timestamp && Number.isNaN(record.timestamp.getTime())) {
          throw new InvalidArgumentError(`${field}.timestamp`, "is not a valid time");
        }
        const page = pageName(record.page);
        aggregator.add({
          userId: record.userId,
          page,
          device: deviceName(record.device),
          timestamp: record.timestamp,
          score: analyzer.analyze(record.text, page),
        });
        if (++index % CHECK_EVERY === 0) await yieldToEventLoop(ctx);
      }
      const summary = aggregator.summary();
      const groups = (list: Group[]) => list.map((g) => ({ key: g.key, distribution: toDistribution(g.distribution) }));
      return {
        overall: toDistribution(summary.overall),
        byPage: groups(summary.byPage),
        byUser: groups(summary.byUser),
        byDevice: groups(summary.byDevice),
        byHour: groups(summary.byHour),
        byDay: groups(summary.byDay),
        model: model(ctx, analyzer),
      };
    },
  };
}
