import { USER_METRIC_KEYS, type UserHitsListener } from "./retrieval-metrics.js";

/** Each scored user's own metric values, in the order they were scored: what pairedBootstrap pairs. */
export interface PerUserMetrics {
  /** Context user rows. */
  users: number[];
  values: Record<(typeof USER_METRIC_KEYS)[number], number[]>;
}

/** A listener for any scorer's `onUser` that keeps every scored user's metric values. */
export function collectPerUser(): { onUser: UserHitsListener; perUser: PerUserMetrics } {
  const perUser: PerUserMetrics = { users: [], values: Object.fromEntries(USER_METRIC_KEYS.map((k) => [k, [] as number[]])) as PerUserMetrics["values"] };
  return {
    perUser,
    onUser: (user, _hits, _relevant, values) => {
      perUser.users.push(user);
      for (const k of USER_METRIC_KEYS) perUser.values[k].push(values[k]);
    },
  };
}

/**
 * Pairs two rankers' per-user values of `metric` by user row. Both must have scored the same users (they do when
 * scored on one context: who is scored depends on the positives and the history, never on the ranker).
 */
export function pairedValues(a: PerUserMetrics, b: PerUserMetrics, metric: (typeof USER_METRIC_KEYS)[number]): [number[], number[]] {
  const va = a.values[metric];
  const vb = b.values[metric];
  if (!va || !vb) throw new RangeError(`pairedValues: no per-user "${metric}"`);
  if (a.users.length !== b.users.length || a.users.some((u, i) => u !== b.users[i])) {
    throw new RangeError(`pairedValues: the rankers scored different users (${a.users.length} vs ${b.users.length}); compare them on one context`);
  }
  return [va, vb];
}
