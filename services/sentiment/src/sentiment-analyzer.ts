// The sentiment data plane: rule scoring with a response cache. No gRPC here; handlers adapt it to the wire.
import { ResponseCache } from "@funnel/runtime";
import type { Registry } from "prom-client";
import { RuleScorer, type PageName, type SentimentScore } from "./scoring/index.js";

export interface AnalyzerOptions {
  rulesPath?: string;
  cacheEntries: number;
  metricsRegistry?: Registry;
}

export class SentimentAnalyzer {
  /** Registered model name reported in every response's ModelRef. */
  static readonly MODEL_NAME = "sentiment-rules";

  private constructor(
    private readonly scorer: RuleScorer,
    private readonly cache: ResponseCache<SentimentScore>,
  ) {}

  static load(options: AnalyzerOptions): SentimentAnalyzer {
    const scorer = RuleScorer.load(options.rulesPath ? { rulesPath: options.rulesPath } : {});
    const cache = new ResponseCache<SentimentScore>({ name: "sentiment", maxEntries: options.cacheEntries, registry: options.metricsRegistry });
    return new SentimentAnalyzer(scorer, cache);
  }

  /** The rule set version is the served model version. */
  get version(): string {
    return this.scorer.ruleSetVersion;
  }

  analyze(text: string, page?: PageName): SentimentScore {
    // The page is part of the key: the same words score differently under different page rules.
    return this.cache.getOrCompute(`${page ?? ""}\u0000${text}`, () => this.scorer.score(text, page));
  }
}
