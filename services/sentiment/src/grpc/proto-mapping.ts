// Wire enums ↔ data-plane names. Kept apart from the handlers so both directions live in one place.
import { AnalysisMethod, DeviceType, PageType, SentimentLabel, type SentimentDistribution, type SentimentResult } from "@funnel/proto";
import type { Distribution } from "../aggregation/index.js";
import type { PageName } from "../scoring/index.js";
import type { Analysis, MethodChoice } from "../sentiment-analyzer.js";

const PAGE_NAMES: Record<number, PageName | undefined> = {
  [PageType.PAGE_TYPE_HOME]: "home",
  [PageType.PAGE_TYPE_SEARCH]: "search",
  [PageType.PAGE_TYPE_PRODUCT]: "product",
  [PageType.PAGE_TYPE_PAYMENT]: "payment",
  [PageType.PAGE_TYPE_CONFIRMATION]: "confirmation",
};

const DEVICE_NAMES: Record<number, "desktop" | "mobile" | "tablet" | undefined> = {
  [DeviceType.DEVICE_TYPE_DESKTOP]: "desktop",
  [DeviceType.DEVICE_TYPE_MOBILE]: "mobile",
  [DeviceType.DEVICE_TYPE_TABLET]: "tablet",
};

const METHODS = {
  rules: AnalysisMethod.ANALYSIS_METHOD_RULES,
  transformer: AnalysisMethod.ANALYSIS_METHOD_TRANSFORMER,
  combined: AnalysisMethod.ANALYSIS_METHOD_COMBINED,
} as const;

const LABELS = {
  negative: SentimentLabel.SENTIMENT_LABEL_NEGATIVE,
  neutral: SentimentLabel.SENTIMENT_LABEL_NEUTRAL,
  positive: SentimentLabel.SENTIMENT_LABEL_POSITIVE,
} as const;

/** PAGE_TYPE_UNSPECIFIED → undefined (general rules only). Callers validate the number first. */
export function pageName(page: PageType): PageName | undefined {
  return PAGE_NAMES[page];
}

export function deviceName(device: DeviceType): "desktop" | "mobile" | "tablet" | undefined {
  return DEVICE_NAMES[device];
}

export function toSentimentResult(analysis: Analysis): SentimentResult {
  const rules = analysis.rules;
  const result: SentimentResult = {
    label: LABELS[analysis.label],
    score: analysis.score,
    confidence: analysis.confidence,
    method: METHODS[analysis.method],
    // The rules' evidence is kept even when the transformer decided: it shows why the rules were unsure.
    contributions: rules.contributions.map((c) => ({ term: c.term, weight: c.weight, rule: c.rule })),
    ruleSetVersion: rules.ruleSetVersion,
    language: rules.language,
    unsupportedLanguage: rules.unsupportedLanguage,
    rulesUnsure: rules.unsure,
  };
  if (analysis.transformer) {
    result.modelName = analysis.transformer.name;
    result.modelVersion = String(analysis.transformer.version);
    result.transformerLabel = analysis.transformer.label;
    result.truncated = analysis.transformer.truncated;
    result.hybridPolicy = analysis.transformer.policy;
  }
  return result;
}

/** Wire enum → the analyzer's method choice; UNSPECIFIED (or absent) and COMBINED are the hybrid. */
export function methodChoice(method: AnalysisMethod | undefined): MethodChoice {
  return method === AnalysisMethod.ANALYSIS_METHOD_RULES ? "rules" : method === AnalysisMethod.ANALYSIS_METHOD_TRANSFORMER ? "transformer" : "auto";
}

export function toDistribution(distribution: Distribution): SentimentDistribution {
  return { ...distribution };
}
