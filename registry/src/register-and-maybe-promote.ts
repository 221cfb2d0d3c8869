import { InvalidArgumentError } from "./errors.js";
import { rollbackTarget } from "./alias-history.js";
import type { AliasEvent, ModelRegistry, ModelVersion, RegisterOptions } from "./model-registry.js";

export interface PromotionPolicy {
  metric: string;
  alias: string;
  /** For losses and latencies; by default a larger metric is better. */
  lowerIsBetter?: boolean;
}

export type PromotionDecision =
  | { promote: true; reason: string }
  | { promote: false; reason: string };

/**
 * Pure decision: does `candidate` beat `current` on the policy metric? A tie does not promote (no churn),
 * and a current version without the metric is not replaced blindly — the metric may have been renamed.
 */
export function decidePromotion(
  policy: PromotionPolicy,
  candidate: { version: number; metrics: Record<string, number> },
  current: { version: number; metrics: Record<string, number> } | null,
): PromotionDecision {
  const next = candidate.metrics[policy.metric];
  if (next === undefined) {
    throw new InvalidArgumentError(
      `version ${candidate.version} has no metric "${policy.metric}" to compare; its metrics are: ${Object.keys(candidate.metrics).join(", ") || "(none)"}`,
    );
  }
  if (current === null) return { promote: true, reason: `alias "${policy.alias}" was unset` };
  const now = current.metrics[policy.metric];
  if (now === undefined) {
    return { promote: false, reason: `current version ${current.version} has no metric "${policy.metric}"; promote explicitly if intended` };
  }
  const better = policy.lowerIsBetter ? next < now : next > now;
  const direction = policy.lowerIsBetter ? "lower is better" : "higher is better";
  return better
    ? { promote: true, reason: `${policy.metric} ${next} beats ${now} of version ${current.version} (${direction})` }
    : { promote: false, reason: `${policy.metric} ${next} does not beat ${now} of version ${current.version} (${direction})` };
}

export interface RegisterResult {
  version: ModelVersion;
  promoted: boolean;
  reason?: string;
  event?: AliasEvent;
}

/** Registers a model directory and, when a policy is given, moves the alias only if the new version is better. */
export async function registerAndMaybePromote(
  registry: ModelRegistry,
  dir: string,
  options: RegisterOptions & { promoteIfBetter?: PromotionPolicy } = {},
): Promise<RegisterResult> {
  const { promoteIfBetter: policy, ...registerOptions } = options;
  if (policy && !policy.metric) throw new InvalidArgumentError("promote-if-better needs a metric name");
  const version = await registry.register(dir, registerOptions);
  if (!policy) return { version, promoted: false };
  const currentNumber = (await registry.getAliases(version.model))[policy.alias];
  const current = currentNumber === undefined ? null : await registry.getVersion(version.model, currentNumber);
  const decision = decidePromotion(
    policy,
    { version: version.version, metrics: version.manifest.metrics },
    current && { version: current.version, metrics: current.manifest.metrics },
  );
  if (!decision.promote) return { version, promoted: false, reason: decision.reason };
  const event = await registry.setAlias(version.model, policy.alias, version.version, { reason: decision.reason });
  return { version: await registry.getVersion(version.model, version.version), promoted: true, reason: decision.reason, event };
}

/** Moves `alias` back to the version it held before the current one, as recorded in the audit trail. */
export async function rollbackAlias(registry: ModelRegistry, model: string, alias: string, reason?: string): Promise<AliasEvent> {
  const history = await registry.aliasHistory(model, alias);
  const { from, to } = rollbackTarget(history, model, alias);
  const current = (await registry.getAliases(model))[alias];
  if (current !== from) {
    throw new InvalidArgumentError(
      `alias "${alias}" is on version ${current ?? "(unset)"} but its audit trail ends at ${from}; it was changed outside the registry — promote explicitly`,
    );
  }
  return registry.setAlias(model, alias, to, { action: "rollback", reason: reason ?? `rollback from version ${from}` });
}
