export { RuleScorer, DEFAULT_RULES_PATH } from "./rule-scorer.js";
export type { PageName, SentimentLabelName, Contribution, SentimentScore, RuleScorerOptions } from "./rule-scorer.js";
export { PAGE_NAMES, loadRuleSet } from "./rule-set.js";
export type { PhraseRule, RuleSet } from "./rule-set.js";
