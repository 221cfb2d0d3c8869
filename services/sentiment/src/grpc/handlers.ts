// Thin adapter between the wire and the data plane: validate → analyze → encode. No scoring logic here.
import {
  AnalysisMethod,
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
import { SentimentAnalyzer, type Analysis } from "../sentiment-analyzer.js";
import { deviceName, methodChoice, pageName, toDistribution, toSentimentResult } from "./proto-mapping.js";

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
    // The metrics label names both models when a transformer is loaded, e.g. "page-rules.v2+transformer-3".
    const transformer = analyzer.transformerVersion;
    ctx.values.set(modelVersionKey, transformer === undefined ? analyzer.version : `${analyzer.version}+transformer-${transformer}`);
    return { name: SentimentAnalyzer.MODEL_NAME, version: analyzer.version };
  };
  // A rules-only analysis of a cached score is the same object on every hit, so its wire form is built once.
  const wireResults = new WeakMap<Analysis, SentimentResult>();
  const wireResult = (analysis: Analysis): SentimentResult => {
    let result = wireResults.get(analysis);
    if (!result) {
      result = toSentimentResult(analysis);
      if (analysis.method === "rules") wireResults.set(analysis, result);
    }
    return result;
  };

  return {
    async analyze(request: AnalyzeRequest, ctx): Promise<AnalyzeResponse> {
      requireText(request.text, "text", config.maxTextChars);
      requireKnownEnum(request.page, PageType, "page");
      if (request.forceMethod !== undefined) requireKnownEnum(request.forceMethod, AnalysisMethod, "force_method");
      const analyzer = currentAnalyzer();
      const [analysis] = await analyzer.analyze([{ text: request.text, page: pageName(request.page) }], { method: methodChoice(request.forceMethod), signal: ctx.signal });
      return { result: wireResult(analysis!), model: model(ctx, analyzer) };
    },

    async analyzeBatch(request: AnalyzeBatchRequest, ctx): Promise<AnalyzeBatchResponse> {
      requireCount(request.items.length, "items", config.maxBatchItems);
      // Validate everything first: a bad item fails the call before any work, naming its index.
      request.items.forEach((item, i) => {
        requireText(item.text, `items[${i}].text`, config.maxTextChars);
        requireKnownEnum(item.page, PageType, `items[${i}].page`);
        if (item.forceMethod !== undefined) requireKnownEnum(item.forceMethod, AnalysisMethod, `items[${i}].force_method`);
      });
      const analyzer = currentAnalyzer();
      // Chunks: the rules score each chunk synchronously, then the loop yields so an expired or cancelled call
      // stops; the chunks' transformer texts still meet in the shared batcher.
      const chunks: Promise<Analysis[]>[] = [];
      for (let start = 0; start < request.items.length; start += CHECK_EVERY) {
        if (start > 0) await yieldToEventLoop(ctx);
        const chunk = request.items.slice(start, start + CHECK_EVERY);
        // One method per call keeps a chunk to one analyze(); mixed per-item choices are analysed item by item.
        const methods = new Set(chunk.map((item) => item.forceMethod));
        chunks.push(
          methods.size === 1
            ? analyzer.analyze(chunk.map((item) => ({ text: item.text, page: pageName(item.page) })), { method: methodChoice(chunk[0]!.forceMethod), signal: ctx.signal })
            : Promise.all(chunk.map(async (item) => (await analyzer.analyze([{ text: item.text, page: pageName(item.page) }], { method: methodChoice(item.forceMethod), signal: ctx.signal }))[0]!)),
        );
      }
      const results = (await Promise.all(chunks)).flat().map(wireResult);
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
          score: analyzer.scoreRules(record.text, page),
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
