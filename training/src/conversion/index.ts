export { trainConversionHead, scoreProbabilities } from "./train-conversion-head.js";
export type { ConversionHeadEvaluation, ConversionHeadOptions, ProbabilityScores, ReliabilityBin } from "./train-conversion-head.js";
export { buildInteractionStats } from "./build-interaction-stats.js";
export { renderConversionReport } from "./render-conversion-report.js";
