// The sentiment data plane: rule scoring with a response cache, and the transformer behind it for the texts
// the hybrid policy sends it (batched across calls, cached per transformer version). No gRPC here; handlers
// adapt it to the wire.
import { FailedPreconditionError, MicroBatcher, type ModelSlot, ResponseCache, runGroupedBy } from "@funnel/runtime";
import type { Registry } from "prom-client";
import { type PageName, RuleScorer, type SentimentLabelName, type SentimentScore } from "./scoring/index.js";
import { decideHybrid, type HybridMethod, type HybridPolicy, needsTransformer, policyForRules } from "./transformer/hybrid-policy.js";
import type { SentimentTransformer } from "./transformer/sentiment-transformer.js";
import type { TransformerClassifier, TransformerPrediction } from "./transformer/transformer-classifier.js";

/** Which path a caller wants; "auto" is the hybrid (the policy stored with the transformer version decides). */
export type MethodChoice = "auto" | "rules" | "transformer";

export interface TransformerOptions {
  slot: ModelSlot<SentimentTransformer>;
  maxBatch: number;
  batchDelayMs: number;
  maxQueue: number;
}

export interface AnalyzerOptions {
  rulesPath?: string;
  cacheEntries: number;
  metricsRegistry?: Registry;
  /** Absent: rules only. */
  transformer?: TransformerOptions;
}

/** One text's analysis: the rules' score always, and the transformer's verdict when it decided. */
export interface Analysis {
  rules: SentimentScore;
  method: HybridMethod;
  label: SentimentLabelName;
  score: number;
  confidence: number;
  transformer?: {
    name: string;
    version: number;
    /** Class name from the model's config.json id2label. */
    label: string;
    /** The text was longer than the model's maximum length and was cut. */
    truncated: boolean;
    /** The hybrid policy version applied (stored with the model version; "default" when it has none). */
    policy: string;
  };
}

interface TransformerInput {
  model: TransformerClassifier;
  text: string;
}

/** |score| below this is neutral, as for the rules (VADER's cut-off). */
const NEUTRAL_BAND = 0.05;

export class SentimentAnalyzer {
  /** Registered model name reported in every response's ModelRef. */
  static readonly MODEL_NAME = "sentiment-rules";

  private readonly batcher: MicroBatcher<TransformerInput, TransformerPrediction> | undefined;
  private readonly predictions: ResponseCache<TransformerPrediction>;
  private readonly rulesOnly = new WeakMap<SentimentScore, Analysis>();

  private constructor(
    private readonly scorer: RuleScorer,
    private readonly cache: ResponseCache<SentimentScore>,
    private readonly options: AnalyzerOptions,
  ) {
    const transformer = options.transformer;
    this.batcher = transformer
      ? new MicroBatcher<TransformerInput, TransformerPrediction>({
          maxBatchSize: transformer.maxBatch,
          maxDelayMs: transformer.batchDelayMs,
          maxQueue: transformer.maxQueue,
          run: predictByModel,
        })
      : undefined;
    this.predictions = new ResponseCache({ name: "sentiment-transformer", maxEntries: options.cacheEntries, registry: options.metricsRegistry });
  }

  static load(options: AnalyzerOptions): SentimentAnalyzer {
    const scorer = RuleScorer.load(options.rulesPath ? { rulesPath: options.rulesPath } : {});
    const cache = new ResponseCache<SentimentScore>({ name: "sentiment", maxEntries: options.cacheEntries, registry: options.metricsRegistry });
    return new SentimentAnalyzer(scorer, cache, options);
  }

  /** The rule set version is the served model version. */
  get version(): string {
    return this.scorer.ruleSetVersion;
  }

  /** The transformer version serving now, if any. */
  get transformerVersion(): number | undefined {
    return this.options.transformer?.slot.version;
  }

  /** The rules alone (cached): what the feedback aggregation uses per record. */
  scoreRules(text: string, page?: PageName): SentimentScore {
    // The page is part of the key: the same words score differently under different page rules.
    return this.cache.getOrCompute(`${page ?? ""}\u0000${text}`, () => this.scorer.score(text, page));
  }

  /** The hybrid policy a transformer version is served with under this rule set. */
  policyOf(model: SentimentTransformer): HybridPolicy {
    return policyForRules(model.fittedPolicy, this.scorer.ruleSetVersion);
  }

  /**
   * Analyses texts in order. The rules score every text; the texts the policy needs the transformer for (or
   * all, when it is forced) go to it in one leased version, batched with other calls' texts.
   */
  async analyze(items: readonly { text: string; page?: PageName }[], call: { method?: MethodChoice; signal?: AbortSignal } = {}): Promise<Analysis[]> {
    const method = call.method ?? "auto";
    const rules = items.map((item) => this.scoreRules(item.text, item.page));
    const transformer = this.options.transformer;
    if (method === "rules" || !transformer) {
      if (method === "transformer") throw noTransformer("this server runs rules only (no --sentiment-transformer-ref)");
      return rules.map((score) => this.rulesAnalysis(score));
    }
    if (!transformer.slot.ready) {
      if (method === "transformer") throw noTransformer(`no version of ${transformer.slot.name}@${transformer.slot.ref} is loaded yet`);
      return rules.map((score) => this.rulesAnalysis(score));
    }
    const lease = transformer.slot.acquire();
    try {
      const policy = this.policyOf(lease.model);
      const routed = rules.map((score) => !score.unsupportedLanguage && (method === "transformer" || needsTransformer(score, policy)));
      if (!routed.includes(true)) return rules.map((score) => this.rulesAnalysis(score));
      return await Promise.all(
        rules.map(async (score, i) => {
          if (!routed[i]) return this.rulesAnalysis(score);
          const text = items[i]!.text;
          const key = `${lease.version}\u0000${text}`;
          let prediction = this.predictions.get(key);
          if (!prediction) {
            prediction = await this.batcher!.submit({ model: lease.model.classifier, text }, call.signal);
            this.predictions.set(key, prediction);
          }
          const transformerRef = { name: lease.name, version: lease.version, label: prediction.label, truncated: prediction.truncated, policy: policy.version };
          const decision = method === "transformer" ? undefined : decideHybrid(score, prediction.margin, policy);
          if (decision?.method === "rules") return this.rulesAnalysis(score);
          if (decision?.method === "combined") {
            return { rules: score, method: "combined" as const, label: decision.label, score: decision.score, confidence: decision.confidence, transformer: transformerRef };
          }
          // The transformer alone: its own class decides (a neutral class stays neutral).
          return {
            rules: score,
            method: "transformer" as const,
            label: labelOfPolarity(prediction.polarity, prediction.sentiment),
            score: prediction.sentiment,
            confidence: prediction.score,
            transformer: transformerRef,
          };
        }),
      );
    } finally {
      lease.release();
    }
  }

  private rulesAnalysis(score: SentimentScore): Analysis {
    // Cached scores are the same object on every hit, so their analysis is built once.
    let analysis = this.rulesOnly.get(score);
    if (!analysis) {
      analysis = { rules: score, method: "rules", label: score.label, score: score.score, confidence: score.confidence };
      this.rulesOnly.set(score, analysis);
    }
    return analysis;
  }
}

function noTransformer(why: string): FailedPreconditionError {
  return new FailedPreconditionError(`force_method TRANSFORMER needs a transformer model, but ${why}; use ANALYSIS_METHOD_UNSPECIFIED or RULES`);
}

function labelOfScore(score: number): SentimentLabelName {
  return score > NEUTRAL_BAND ? "positive" : score < -NEUTRAL_BAND ? "negative" : "neutral";
}

/** The transformer's own class decides; a class off the sentiment axis falls back to the score's sign. */
function labelOfPolarity(polarity: TransformerPrediction["polarity"], score: number): SentimentLabelName {
  return polarity === "other" ? labelOfScore(score) : polarity;
}

/** One ONNX run per transformer version among the texts (two only while a swap drains). */
function predictByModel(inputs: TransformerInput[]): Promise<TransformerPrediction[]> {
  return runGroupedBy(
    inputs,
    (input) => input.model,
    (model, group) => model.predict(group.map((input) => input.text)),
  );
}
