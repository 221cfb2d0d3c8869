// The blend weights of a version (served-policy.json), fitted on the validation split at training time and
// read by the Recommendation service, so what is served is what was evaluated.

export const SERVED_POLICY_FORMAT = 1;

/** Candidate sources of RecommendItems for a user with a vector or a history. */
export const POLICY_SOURCES = ["retrieval", "similarUsers", "neighbours", "popularity"] as const;
export type PolicySource = (typeof POLICY_SOURCES)[number];

/**
 * Weight of each source's raw score in the blend (Σ w · score); 0 switches the source off. Fitted weights carry
 * their source's scale (training divides by its spread before choosing), so they need not sum to 1.
 */
export type PolicyWeights = Record<PolicySource, number>;

export interface ServedPolicyFile {
  format: typeof SERVED_POLICY_FORMAT;
  weights: PolicyWeights;
  /** Where the weights were chosen, e.g. "validation (leave-last 1): recall@10 0.0412 over 2,790 users". */
  fittedOn: string;
}

/** Similar users whose items are candidates: the service's default, and what training evaluates with. */
export const DEFAULT_SIMILAR_USERS = 30;

/** The weights a version without served-policy.json is served with: retrieval and similar users as configured. */
export function defaultPolicyWeights(similarUsersWeight: number): PolicyWeights {
  return { retrieval: 1 - similarUsersWeight, similarUsers: similarUsersWeight, neighbours: 0, popularity: 0 };
}

/** Checks a parsed served-policy.json; throws naming what is wrong. */
export function parseServedPolicy(value: unknown): ServedPolicyFile {
  const file = value as Partial<ServedPolicyFile>;
  if (file?.format !== SERVED_POLICY_FORMAT) throw new Error(`served-policy.json: format ${String(file?.format)} is not ${SERVED_POLICY_FORMAT}`);
  const weights = file.weights as Partial<PolicyWeights> | undefined;
  for (const source of POLICY_SOURCES) {
    const w = weights?.[source];
    if (typeof w !== "number" || !(w >= 0) || !Number.isFinite(w)) throw new Error(`served-policy.json: weights.${source} must be a number >= 0, got ${String(w)}`);
  }
  return { format: SERVED_POLICY_FORMAT, weights: weights as PolicyWeights, fittedOn: typeof file.fittedOn === "string" ? file.fittedOn : "" };
}
