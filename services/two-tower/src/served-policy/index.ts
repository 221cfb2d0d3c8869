export type { ItemNeighboursFile } from "./item-neighbours.js";
export { ITEM_NEIGHBOURS_FORMAT, ItemNeighbours, itemNeighboursFromRows, parseItemNeighbours } from "./item-neighbours.js";
export type { PolicySource, PolicyWeights, ServedPolicyFile } from "./policy-weights.js";
export { DEFAULT_SIMILAR_USERS, defaultPolicyWeights, POLICY_SOURCES, parseServedPolicy, SERVED_POLICY_FORMAT } from "./policy-weights.js";
export type { Candidate, ItemSource, PolicyRequest, PolicySources, PolicyUser, RecommendedItem, ScoredId } from "./served-policy.js";
export { blendCandidates, byScore, candidateDepth, fillWithPopular, gatherCandidates, recommendItems } from "./served-policy.js";
