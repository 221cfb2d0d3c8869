// A small hand-made served log and events file whose figures are worked out by hand in the comments, shared
// by the join's unit tests, the CLI test and k8s/'s metric-name check.
import { pseudonymiseUserId, type ServedRecommendation } from "@funnel/two-tower";

export const SALT = "outcome-test-salt";
const DAY = "2026-11-01";
const at = (day: string, time: string) => `${day}T${time}Z`;
const items = (...ids: string[]) => ids.map((itemId, i) => ({ itemId, rank: i + 1, score: 1 - i / 10, source: "item_retrieval" }));
const served = (requestId: string, user: string | null, version: string, ts: string, ids: string[]): ServedRecommendation => ({
  ts,
  requestId,
  user: user === null ? null : pseudonymiseUserId(user, SALT),
  model: "two-tower",
  version,
  items: items(...ids),
});

/**
 * Version 1 on 2026-11-01: u1 hit, u2 hit, u3 hit and converted, u4 nothing in the window → 3/4 hits, 1/4.
 * Version 1 on 2026-11-02: u5 hit → 1/1. Version 1 overall: 4/5 hits, 1/5 conversions.
 * Version 2 on 2026-11-02: u1 hit, u2 interacted after the 1-day window, u3 before being served, u4 with an
 * item not recommended → 1/4 hits, 0 conversions.
 * Left out: one anonymous call, one duplicate request id, one served too late for the events to cover a day.
 */
export const SERVED: ServedRecommendation[] = [
  served("r1", "u1", "1", at(DAY, "10:00:00"), ["i1", "i2"]),
  served("r2", "u2", "1", at(DAY, "10:00:00"), ["i3", "i4"]),
  served("r3", "u3", "1", at(DAY, "11:00:00"), ["i5"]),
  served("r4", "u4", "1", at(DAY, "12:00:00"), ["i6"]),
  served("r5", "u5", "1", at("2026-11-02", "08:00:00"), ["i1"]),
  served("r6", "u1", "2", at("2026-11-02", "09:00:00"), ["i7"]),
  served("r7", "u2", "2", at("2026-11-02", "09:00:00"), ["i8"]),
  served("r8", "u3", "2", at("2026-11-02", "09:00:00"), ["i9"]),
  served("r9", "u4", "2", at("2026-11-02", "09:00:00"), ["i10"]),
  served("r10", null, "2", at("2026-11-02", "09:00:00"), ["i1"]),
  served("r6", "u1", "2", at("2026-11-02", "09:00:00"), ["i7"]),
  served("r11", "u6", "2", at("2026-11-04", "09:00:00"), ["i1"]),
];

/** Events CSV (header on line 1). Line 15 is malformed on purpose. */
export const EVENTS_CSV = [
  "user_id,session_id,timestamp,device,page,interaction,duration_s,item_id,converted",
  `u0,s0,${at("2026-10-31", "23:00:00")},desktop,home,scroll,1,i0,0`,
  `u1,s1,${at(DAY, "10:05:00")},desktop,product,click,3,i2,0`,
  `u2,s2,${at(DAY, "11:00:00")},mobile,product,hover,3,i3,0`,
  `u3,s3,${at(DAY, "11:10:00")},mobile,product,click,3,i5,0`,
  `u3,s3,${at(DAY, "11:20:00")},mobile,confirmation,click,3,i5,1`,
  `u4,s4,${at("2026-11-03", "13:00:00")},tablet,product,click,3,i6,0`,
  `u5,s5,${at("2026-11-02", "08:30:00")},desktop,product,click,3,i1,0`,
  `u1,s6,${at("2026-11-02", "09:30:00")},desktop,product,click,3,i7,0`,
  `u2,s7,${at("2026-11-03", "09:00:01")},mobile,product,click,3,i8,0`,
  `u3,s8,${at("2026-11-02", "08:59:59")},mobile,product,click,3,i9,0`,
  `u4,s9,${at("2026-11-02", "10:00:00")},tablet,product,click,3,i1,0`,
  `u6,s10,${at("2026-11-04", "10:00:00")},desktop,product,click,3,i1,0`,
  `u9,s11,${at("2026-11-04", "12:00:00")},desktop,home,scroll,1,i0,0`,
  "u9,s12,not-a-time,desktop,home,scroll,1,i0,0",
].join("\n");

/** The served log as written by the service, plus two bad lines (3 and 7). */
export function servedLogText(): string {
  const lines = SERVED.map((r) => JSON.stringify(r));
  lines.splice(2, 0, "{not json");
  lines.splice(6, 0, JSON.stringify({ ...SERVED[0], version: "" }));
  return `${lines.join("\n")}\n`;
}
