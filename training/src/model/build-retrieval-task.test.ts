import { describe, expect, it } from "vitest";
import { generateDataset, splitEvents } from "../data/index.js";
import { buildRetrievalTask } from "./build-retrieval-task.js";
import { assembleBatch, DEFAULT_TRAIN_OPTIONS } from "./train-two-tower.js";

const data = generateDataset({ users: 120, seed: 9, items: 60 });

describe("buildRetrievalTask", () => {
  it("time split: trains on train events only and scores later events from earlier history", () => {
    const task = buildRetrievalTask(data.events, { strategy: "time", seed: 9, itemAttributes: data.items, sequenceLength: 8 });
    const split = splitEvents(data.events, { strategy: "time", seed: 9 });
    const trainPairs = new Set(split.train.map((e) => `${e.userId} ${e.itemId}`));
    const { user, item } = task.training.train.pairs;
    expect(user.length).toBe(trainPairs.size);
    for (let k = 0; k < user.length; k++) expect(trainPairs.has(`${task.trainUserIds[user[k]!]} ${task.itemIds[item[k]!]}`)).toBe(true);
    // Test positives are exactly the test split's (user, item) pairs of users with history.
    const testPairs = new Set(split.test.filter((e) => task.test.userIds.includes(e.userId)).map((e) => `${e.userId} ${e.itemId}`));
    const positives = [...task.test.positives].flatMap(([u, items]) => [...items].map((it) => `${task.test.userIds[u]} ${task.itemIds[it]}`));
    expect(new Set(positives)).toEqual(testPairs);
    expect(task.counts.train + task.counts.validation + task.counts.test).toBe(data.events.length);
  });

  it("user split: held-out users never appear in training pairs", () => {
    const task = buildRetrievalTask(data.events, { strategy: "user", seed: 9, itemAttributes: data.items, sequenceLength: 8 });
    const trainUsers = new Set([...task.training.train.pairs.user].map((u) => task.trainUserIds[u]));
    expect(task.test.userIds.length).toBeGreaterThan(0);
    for (const id of [...task.test.userIds, ...task.validation.userIds]) expect(trainUsers.has(id)).toBe(false);
  });

  it("blanks each pair's positive item out of the user's history in a batch (leave-target-out)", () => {
    const task = buildRetrievalTask(data.events, { strategy: "time", seed: 9, itemAttributes: data.items, sequenceLength: 8 });
    const split = task.training.train;
    const rows = Int32Array.from({ length: split.pairs.user.length }, (_, i) => i);
    const batch = assembleBatch(task.training, split, rows, undefined, DEFAULT_TRAIN_OPTIONS);
    const L = task.spec.sequenceLength;
    let blanked = 0;
    for (let b = 0; b < batch.users.count; b++) {
      const target = batch.items.itemIndex[b]!;
      const history = batch.users.recentItems.subarray(b * L, (b + 1) * L);
      expect(history.includes(target)).toBe(false);
      const original = split.users.recentItems.subarray(split.pairs.user[b]! * L, (split.pairs.user[b]! + 1) * L);
      if (original.includes(target)) blanked++;
    }
    // Most positives were in the history (the user clicked them in the train period), so the rule did real work.
    expect(blanked).toBeGreaterThan(batch.users.count / 2);
  });
});
