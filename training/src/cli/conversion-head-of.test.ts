import { describe, expect, it } from "vitest";
import { generateDataset } from "../data/index.js";
import { conversionHeadOf } from "./run-training.js";

describe("conversionHeadOf", () => {
  const { events } = generateDataset({ users: 80, seed: 2, items: 40 });
  const evaluation = (auc: number) => ({ evaluation: { model: { auc } } as never });

  it("does not train a head on data without conversions, and says why", () => {
    let trained = false;
    const result = conversionHeadOf({ events: events.map((e) => ({ ...e, converted: false })) }, () => {
      trained = true;
      return evaluation(0.7);
    });
    expect(trained).toBe(false);
    expect(result).toEqual({ skipped: expect.stringMatching(/no conversions/) });
  });

  it("says so when every event converts", () => {
    expect(conversionHeadOf({ events: events.map((e) => ({ ...e, converted: true })) }, () => evaluation(0.7))).toEqual({ skipped: expect.stringMatching(/every event converts/) });
  });

  it("does not ship a head whose held-out AUC is undefined, and ships a measurable one", () => {
    expect(conversionHeadOf({ events }, () => evaluation(Number.NaN))).toEqual({ skipped: expect.stringMatching(/AUC undefined/) });
    expect(conversionHeadOf({ events }, () => undefined)).toEqual({ skipped: expect.stringMatching(/no sessions/) });
    expect(conversionHeadOf({ events }, () => evaluation(0.71)).trained?.evaluation).toEqual({ model: { auc: 0.71 } });
  });
});
