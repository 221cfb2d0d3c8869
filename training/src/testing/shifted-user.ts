import type { RawUserFeatures } from "@funnel/two-tower";

/**
 * A user moved on purpose, for drift tests: more sessions, longer ones, all on tablets, every recent page the
 * payment page (conversions untouched, so a test can check an unshifted feature stays put).
 */
export function shiftedUser(user: RawUserFeatures): RawUserFeatures {
  return {
    ...user,
    device: "tablet",
    sessionCount: (user.sessionCount ?? 1) * 6,
    avgSessionDurationSeconds: (user.avgSessionDurationSeconds ?? 60) * 4,
    recentInteractions: user.recentInteractions?.map((i) => ({ ...i, page: "payment" })),
  };
}
