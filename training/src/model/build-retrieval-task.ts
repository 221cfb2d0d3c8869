import type { InteractionEvent } from "@funnel/two-tower";
import { splitEvents, type SplitStrategy } from "../data/index.js";
import {
  aggregateItemFeatures,
  aggregateUserFeatures,
  buildFeatureSpec,
  encodeItems,
  encodeUsers,
  type FeatureSpec,
  type ItemTensors,
  OOV_INDEX,
  type RawItemFeatures,
  type UserTensors,
} from "@funnel/two-tower";
import type { UserSequences } from "./train-history-two-tower.js";
import type { PairSet, TrainingData } from "./train-two-tower.js";

export type { SplitStrategy };

/** Anything with an item id and optional category/page: ItemAttributes and GeneratedItem both fit. */
export interface ItemAttributeInput {
  itemId: string;
  category?: unknown;
  page?: unknown;
}

/** Users embedded from their history, with the items they interacted with afterwards (the positives). */
export interface RetrievalContext {
  userIds: string[];
  users: UserTensors;
  /** user row → item rows seen in the history (excluded from rankings). */
  seen: Map<number, Set<number>>;
  /** user row → item rows interacted with after the history. */
  positives: Map<number, Set<number>>;
  /** Positive interactions whose item is not in the model's catalogue (counted, not scored). */
  positivesOutsideCatalogue: number;
  /** Held-out users with no history at all (cold start), counted, not scored. */
  usersWithoutHistory: number;
}

export interface RetrievalTask {
  spec: FeatureSpec;
  /** Item catalogue in row order: the item vocabulary of the spec. */
  itemIds: string[];
  items: ItemTensors;
  /** Training positives per item row: the popularity baseline and the logQ sampling probabilities. */
  itemPopularity: Float64Array;
  training: TrainingData;
  validation: RetrievalContext;
  test: RetrievalContext;
  /** Training users (rows of training.train.users). */
  trainUserIds: string[];
  counts: { train: number; validation: number; test: number; trainPairs: number; validationPairs: number };
}

/**
 * Turns an event log into everything training and evaluation need, without leaking the future:
 * - "time" and "leave-last": features come from events before the held-out period (train for validation,
 *   train + validation for test); positives are the held-out period's items.
 * - "user": held-out users are unseen in training; each one's earlier half of events is the history and the
 *   later half the positives.
 * Training pairs are the distinct (user, item) interactions of the train split.
 */
export function buildRetrievalTask(
  events: InteractionEvent[],
  options: {
    strategy: SplitStrategy;
    seed: number;
    ratios?: [number, number, number];
    holdoutLast?: number;
    /** Train on train + validation (validation empty, test unchanged): see splitEvents. */
    refit?: boolean;
    sequenceLength?: number;
    itemAttributes?: ItemAttributeInput[];
    /** user id → attribute table row; reaches the user tower as a bag of "name=value" tokens. */
    userAttributes?: ReadonlyMap<string, Record<string, string>>;
    /** Hash buckets of the user-id embedding (0 or absent: none). */
    userIdBuckets?: number;
    /**
     * The pseudonym of a user id: what the id buckets hash, as serving does (required with userIdBuckets). Called
     * for every user of every context: pass a cached one (pseudonymsWith).
     */
    pseudonymOf?: (userId: string) => string;
  },
): RetrievalTask {
  const userIdBuckets = options.userIdBuckets ?? 0;
  if (userIdBuckets > 0 && !options.pseudonymOf) throw new RangeError("buildRetrievalTask: userIdBuckets needs pseudonymOf (the ids hashed are pseudonyms)");
  const users: UserSources = {
    ...(options.userAttributes ? { attributes: options.userAttributes } : {}),
    ...(userIdBuckets > 0 && options.pseudonymOf ? { pseudonymOf: options.pseudonymOf } : {}),
  };
  const split = splitEvents(events, { strategy: options.strategy, seed: options.seed, ratios: options.ratios, holdoutLast: options.holdoutLast, refit: options.refit });
  if (split.train.length === 0) throw new RangeError("the train split is empty: the dataset has too few events");
  const sequenceLength = options.sequenceLength;
  const trainUserRaw = aggregateUserFeatures(split.train, { sequenceLength, ...users });
  const trainItemRaw = aggregateItemFeatures(split.train, options.itemAttributes ?? []);
  const spec = buildFeatureSpec({ users: [...trainUserRaw.values()], items: [...trainItemRaw.values()] }, { sequenceLength, userIdBuckets });

  const itemIds = [...spec.vocab.item.tokens];
  const items = encodeItems(spec, itemIds.map((id): RawItemFeatures => trainItemRaw.get(id) ?? { itemId: id }));
  const itemRow = new Map(itemIds.map((id, i) => [id, i]));

  const trainUserIds = [...trainUserRaw.keys()].sort();
  const trainUsers = encodeUsers(spec, trainUserIds.map((id) => trainUserRaw.get(id)!));
  const trainUserRow = new Map(trainUserIds.map((id, i) => [id, i]));
  const trainPairs = distinctPairs(split.train, trainUserRow, itemRow);

  const itemPopularity = new Float64Array(itemIds.length);
  for (const it of trainPairs.item) itemPopularity[it]! += 1;
  const total = trainPairs.item.length;
  const itemLogQ = Float32Array.from(itemPopularity, (c) => Math.log(Math.max(c, 1) / total));

  let validation: RetrievalContext;
  let test: RetrievalContext;
  if (options.strategy === "time" || options.strategy === "leave-last") {
    validation = historyContext(spec, split.train, split.validation, itemRow, users);
    test = historyContext(spec, [...split.train, ...split.validation], split.test, itemRow, users);
  } else {
    validation = ownHistoryContext(spec, split.validation, itemRow, users);
    test = ownHistoryContext(spec, split.test, itemRow, users);
  }
  const validationPairs = pairsOf(validation.positives);
  return {
    spec,
    itemIds,
    items,
    itemPopularity,
    training: {
      items,
      train: { users: trainUsers, pairs: trainPairs },
      validation: { users: validation.users, pairs: validationPairs },
      itemLogQ,
      sequences: userSequences(split.train, trainUserIds, spec),
    },
    validation,
    test,
    trainUserIds,
    counts: {
      train: split.train.length,
      validation: split.validation.length,
      test: split.test.length,
      trainPairs: trainPairs.user.length,
      validationPairs: validationPairs.user.length,
    },
  };
}

/** What user records carry besides their events: attribute table rows, and pseudonyms for the id buckets. */
export interface UserSources {
  attributes?: ReadonlyMap<string, Record<string, string>>;
  pseudonymOf?: (userId: string) => string;
}

/** Users embedded from `history`, positives from `future` (only users with some history are scored). */
export function historyContext(
  spec: FeatureSpec,
  history: InteractionEvent[],
  future: InteractionEvent[],
  itemRow: Map<string, number>,
  users: UserSources = {},
): RetrievalContext {
  const raw = aggregateUserFeatures(history, { sequenceLength: spec.sequenceLength, ...users });
  const futureUsers = new Set(future.map((e) => e.userId));
  const userIds = [...futureUsers].filter((id) => raw.has(id)).sort();
  const row = new Map(userIds.map((id, i) => [id, i]));
  const context = emptyContext(userIds, encodeUsers(spec, userIds.map((id) => raw.get(id)!)));
  context.usersWithoutHistory = futureUsers.size - userIds.length;
  for (const e of history) addTo(context.seen, row.get(e.userId), itemRow.get(e.itemId));
  for (const e of future) {
    const u = row.get(e.userId);
    if (u === undefined) continue;
    const it = itemRow.get(e.itemId);
    if (it === undefined) context.positivesOutsideCatalogue++;
    else addTo(context.positives, u, it);
  }
  return context;
}

/** Each user's own events split in time: the earlier half is history, the later half the positives. */
export function ownHistoryContext(
  spec: FeatureSpec,
  events: InteractionEvent[],
  itemRow: Map<string, number>,
  users: UserSources = {},
): RetrievalContext {
  const byUser = new Map<string, InteractionEvent[]>();
  for (const e of events) {
    const list = byUser.get(e.userId);
    if (list) list.push(e);
    else byUser.set(e.userId, [e]);
  }
  const history: InteractionEvent[] = [];
  const future: InteractionEvent[] = [];
  for (const list of byUser.values()) {
    list.sort((a, b) => a.timestamp - b.timestamp);
    const cut = Math.floor(list.length / 2);
    history.push(...list.slice(0, cut));
    future.push(...list.slice(cut));
  }
  return historyContext(spec, history, future, itemRow, users);
}

function emptyContext(userIds: string[], users: UserTensors): RetrievalContext {
  return { userIds, users, seen: new Map(), positives: new Map(), positivesOutsideCatalogue: 0, usersWithoutHistory: 0 };
}

function addTo(map: Map<number, Set<number>>, u: number | undefined, it: number | undefined): void {
  if (u === undefined || it === undefined) return;
  const set = map.get(u);
  if (set) set.add(it);
  else map.set(u, new Set([it]));
}

function distinctPairs(events: InteractionEvent[], userRow: Map<string, number>, itemRow: Map<string, number>): PairSet {
  const seen = new Map<number, Set<number>>();
  for (const e of events) addTo(seen, userRow.get(e.userId), itemRow.get(e.itemId));
  return pairsOf(seen);
}

/**
 * Each user's events in time order (equal timestamps keep their log order, as aggregateUserFeatures does) as
 * item- and page-vocabulary indices, the layout encodeUsers gives recent items and pages.
 */
export function userSequences(events: InteractionEvent[], userIds: string[], spec: FeatureSpec): UserSequences {
  const row = new Map(userIds.map((id, i) => [id, i]));
  const byUser: InteractionEvent[][] = userIds.map(() => []);
  for (const e of events) {
    const u = row.get(e.userId);
    if (u !== undefined) byUser[u]!.push(e);
  }
  const itemIndex = new Map(spec.vocab.item.tokens.map((t, i) => [t, i + 2]));
  const pageIndex = new Map(spec.vocab.page.tokens.map((t, i) => [t, i + 2]));
  const offsets = new Int32Array(userIds.length + 1);
  const items: number[] = [];
  const pages: number[] = [];
  byUser.forEach((list, u) => {
    list.sort((a, b) => a.timestamp - b.timestamp);
    for (const e of list) {
      items.push(itemIndex.get(e.itemId) ?? OOV_INDEX);
      pages.push(pageIndex.get(e.page) ?? OOV_INDEX);
    }
    offsets[u + 1] = items.length;
  });
  return { offsets, items: Int32Array.from(items), pages: Int32Array.from(pages) };
}

/** Flattens user → items into parallel arrays in a deterministic (user, then item) order. */
function pairsOf(map: Map<number, Set<number>>): PairSet {
  const users: number[] = [];
  const items: number[] = [];
  for (const u of [...map.keys()].sort((a, b) => a - b)) {
    for (const it of [...map.get(u)!].sort((a, b) => a - b)) {
      users.push(u);
      items.push(it);
    }
  }
  return { user: Int32Array.from(users), item: Int32Array.from(items) };
}
