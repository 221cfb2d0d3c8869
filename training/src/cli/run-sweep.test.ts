import { describe, expect, it } from "vitest";
import { describe as describeSettings, formatSweepTable, type SweepRow, sweepCombinations } from "./run-sweep.js";

describe("sweep grid", () => {
  it("crosses every listed axis, last axis fastest, and skips empty ones", () => {
    expect(sweepCombinations({ taskMix: [0.25, 0.5], dropout: [0, 0.3], weightDecay: [] })).toEqual([
      { taskMix: 0.25, dropout: 0 },
      { taskMix: 0.25, dropout: 0.3 },
      { taskMix: 0.5, dropout: 0 },
      { taskMix: 0.5, dropout: 0.3 },
    ]);
    expect(sweepCombinations({})).toEqual([{}]);
    expect(describeSettings({ sequenceLength: 100, learningRate: 0.001 })).toBe("seq 100, lr 0.001");
  });

  it("shows only the swept axes in the table, with the users scored", () => {
    const row = (settings: SweepRow["settings"]): SweepRow => ({
      settings,
      bestEpoch: 3,
      epochsRun: 5,
      validationLoss: 6.1,
      "validation recall@10": 0.15,
      "test recall@10": 0.14,
      "baseline recall@10": 0.07,
      "item-kNN recall@10": 0.11,
      "EASE recall@10": 0.13,
      "vs EASE": "+0.0100 [+0.0010, +0.0200] ahead",
      "test ndcg@10": 0.1,
      "test users": 943,
      samplesPerSecond: 300,
      secondsPerEpoch: 2.5,
      seconds: 20,
    });
    const table = formatSweepTable([row({ taskMix: 0.5 }), row({ taskMix: 0.75 })]).split("\n");
    expect(table[0]!.trim().split(/\s+/).slice(0, 2)).toEqual(["mix", "best"]);
    expect(table[2]).toContain("943");
    expect(table[3]!.trim().startsWith("0.75")).toBe(true);
  });
});
