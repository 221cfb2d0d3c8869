// Wire enums ↔ data-plane names. Kept apart from the handlers so both directions live in one place.
import { AnalysisMethod, DeviceType, PageType, SentimentLabel, type SentimentDistribution, type SentimentResult } from "@funnel/proto";
import type { Distribution } from "../aggregation/index.js";
import type { PageName, SentimentScore } from "../scoring/index.js";

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

export function toSentimentResult(score: SentimentScore): SentimentResult {
  return {
    label: LABELS[score.label],
    score: score.score,
    confidence: score.confidence,
    method: AnalysisMethod.ANALYSIS_METHOD_RULES,
    contributions: score.contributions.map((c) => ({ term: c.term, weight: c.weight, rule: c.rule })),
    ruleSetVersion: score.ruleSetVersion,
    language: score.language,
    unsupportedLanguage: score.unsupportedLanguage,
  };
}

export function toDistribution(distribution: Distribution): SentimentDistribution {
  return { ...distribution };
}
