import { createHash } from "node:crypto";
import { DEVICES, type Device, type InteractionEvent } from "@funnel/two-tower";
import { createSeededRandom } from "./seeded-random.js";

export interface Split<T> {
  train: T[];
  validation: T[];
  test: T[];
}

/** time: global time cut; user: held-out users; leave-last: each user's last interactions held out. */
export type SplitStrategy = "time" | "user" | "leave-last";

export const DEFAULT_SPLIT_RATIOS: [number, number, number] = [0.7, 0.15, 0.15];

/**
 * Splits events 70/15/15 (or `ratios`).
 * - "time": cut at the timestamp quantiles, so validation and test are strictly later than train (what a
 *   deployed model faces) and each user's own later interactions are held out.
 * - "user": whole users go to one part, stratified by their main device so every part has the same device mix
 *   (for cold-start evaluation).
 * Events keep their input order within each part.
 */
export function splitEvents(
  events: InteractionEvent[],
  options: {
    strategy: SplitStrategy;
    ratios?: [number, number, number];
    seed: number;
    holdoutLast?: number;
    /**
     * Refit: the validation part joins train (validation is then empty) and test is unchanged, for retraining on
     * train + validation once the epoch and hyperparameters were chosen on validation.
     */
    refit?: boolean;
  },
): Split<InteractionEvent> {
  const split = splitWithValidation(events, options);
  if (!options.refit) return split;
  const test = new Set(split.test);
  // The parts partition the events, so train + validation is everything not in test, in input order.
  return { train: events.filter((e) => !test.has(e)), validation: [], test: split.test };
}

function splitWithValidation(
  events: InteractionEvent[],
  options: { strategy: SplitStrategy; ratios?: [number, number, number]; seed: number; holdoutLast?: number },
): Split<InteractionEvent> {
  if (options.strategy === "leave-last") return splitLeaveLast(events, options.holdoutLast ?? 1);
  const ratios = checkRatios(options.ratios ?? DEFAULT_SPLIT_RATIOS);
  if (options.strategy === "time") return splitByTime(events, ratios);
  if (options.strategy === "user") return splitByUser(events, ratios, options.seed);
  throw new TypeError(`splitEvents: strategy must be "time", "user" or "leave-last", got ${JSON.stringify(options.strategy)}`);
}

/**
 * The protocol recommender papers report: each user's last `n` interactions (by time; ties keep input order)
 * are test, the `n` before them validation, the rest train. A user needs at least one training interaction:
 * with `n` or fewer, all go to train; with up to 2n, there is no validation part for that user.
 */
function splitLeaveLast(events: InteractionEvent[], n: number): Split<InteractionEvent> {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`splitEvents: holdoutLast must be an integer >= 1, got ${n}`);
  const byUser = new Map<string, number[]>();
  events.forEach((e, i) => {
    const list = byUser.get(e.userId);
    if (list) list.push(i);
    else byUser.set(e.userId, [i]);
  });
  const part = new Uint8Array(events.length);
  for (const rows of byUser.values()) {
    rows.sort((a, b) => events[a]!.timestamp - events[b]!.timestamp || a - b);
    if (rows.length <= n) continue;
    for (const row of rows.slice(-n)) part[row] = 2;
    if (rows.length > 2 * n) for (const row of rows.slice(-2 * n, -n)) part[row] = 1;
  }
  const split: Split<InteractionEvent> = { train: [], validation: [], test: [] };
  const parts = [split.train, split.validation, split.test];
  events.forEach((e, i) => {
    parts[part[i]!]!.push(e);
  });
  return split;
}

function checkRatios(ratios: readonly number[]): [number, number, number] {
  const sum = ratios.reduce((a, b) => a + b, 0);
  if (ratios.length !== 3 || ratios.some((r) => !Number.isFinite(r) || r < 0) || Math.abs(sum - 1) > 1e-6) {
    throw new RangeError(`splitEvents: ratios must be three numbers >= 0 that sum to 1, got ${JSON.stringify(ratios)}`);
  }
  return [ratios[0]!, ratios[1]!, ratios[2]!];
}

function splitByTime(events: InteractionEvent[], ratios: [number, number, number]): Split<InteractionEvent> {
  const split: Split<InteractionEvent> = { train: [], validation: [], test: [] };
  if (events.length === 0) return split;
  const times = Float64Array.from(events, (e) => e.timestamp).sort();
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  // Events at exactly a cut go to the later part, so no timestamp is on both sides of a boundary.
  const trainEnd = ratios[0] >= 1 ? Infinity : at(ratios[0]);
  const validationEnd = ratios[0] + ratios[1] >= 1 ? Infinity : at(ratios[0] + ratios[1]);
  for (const event of events) {
    if (event.timestamp < trainEnd) split.train.push(event);
    else if (event.timestamp < validationEnd) split.validation.push(event);
    else split.test.push(event);
  }
  return split;
}

function splitByUser(events: InteractionEvent[], ratios: [number, number, number], seed: number): Split<InteractionEvent> {
  const deviceCounts = new Map<string, Record<Device, number>>();
  for (const event of events) {
    let counts = deviceCounts.get(event.userId);
    if (!counts) {
      counts = { desktop: 0, mobile: 0, tablet: 0 };
      deviceCounts.set(event.userId, counts);
    }
    counts[event.device]++;
  }
  const strata = new Map<Device, string[]>(DEVICES.map((d) => [d, []]));
  // Sorting first makes the assignment independent of the order events arrive in.
  for (const userId of [...deviceCounts.keys()].sort()) {
    const counts = deviceCounts.get(userId)!;
    const main = DEVICES.reduce((best, d) => (counts[d] > counts[best] ? d : best), DEVICES[0]);
    strata.get(main)!.push(userId);
  }
  const rng = createSeededRandom(seed);
  const partOf = new Map<string, 0 | 1 | 2>();
  for (const users of strata.values()) {
    rng.shuffle(users);
    const [nTrain, nValidation] = apportion(users.length, ratios);
    users.forEach((userId, i) => {
      partOf.set(userId, i < nTrain ? 0 : i < nTrain + nValidation ? 1 : 2);
    });
  }
  const split: Split<InteractionEvent> = { train: [], validation: [], test: [] };
  const parts = [split.train, split.validation, split.test];
  for (const event of events) parts[partOf.get(event.userId)!]!.push(event);
  return split;
}

/** Largest-remainder rounding: the counts always add up to n. */
function apportion(n: number, ratios: [number, number, number]): [number, number, number] {
  const exact = ratios.map((r) => r * n);
  const counts = exact.map(Math.floor);
  let left = n - counts.reduce((a, b) => a + b, 0);
  const byRemainder = [0, 1, 2].sort((a, b) => exact[b]! - counts[b]! - (exact[a]! - counts[a]!) || a - b);
  for (const i of byRemainder) {
    if (left-- <= 0) break;
    counts[i]!++;
  }
  return [counts[0]!, counts[1]!, counts[2]!];
}

/**
 * SHA-256 over a canonical serialisation of the events (fixed field order, sorted rows), so the same data gives
 * the same fingerprint whatever file format or row order it was read from. Recorded with each training run.
 */
export function fingerprintEvents(events: InteractionEvent[]): string {
  const rows = events.map((e) =>
    JSON.stringify([
      e.userId,
      e.sessionId,
      e.timestamp,
      e.device,
      e.page,
      e.interaction,
      e.durationSeconds,
      e.itemId,
      e.converted,
      e.text ?? null,
    ]),
  );
  rows.sort();
  const hash = createHash("sha256");
  for (const row of rows) hash.update(row).update("\n");
  return hash.digest("hex");
}
