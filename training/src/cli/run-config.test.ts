import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { mergeRunConfig, parseRunConfig } from "./run-config.js";

describe("parseRunConfig", () => {
  it("fills every default from a minimal config", () => {
    const config = parseRunConfig({ data: { generate: { users: 10, seed: 1 } } });
    expect(config.model.dim).toBe(128);
    expect(config.split).toEqual({ strategy: "leave-last", ratios: [0.7, 0.15, 0.15], holdoutLast: 1 });
    expect(config.training.batchSize).toBeGreaterThan(1);
    expect(config.training.selectOn).toBe("recall@10");
    expect(config.baselines).toEqual({ easeLambda: [50, 100, 250, 500, 1000, 2000], knnShrink: [0, 10, 50, 200], knnNeighbours: [0, 50, 200] });
    expect(config.evaluation).toEqual({ refit: true, bootstrapResamples: 2000, minScoredUsers: 300 });
  });

  it("reads a bare baseline value (configs before the grids) as a grid of one", () => {
    const config = parseRunConfig({ data: { generate: { users: 10, seed: 1 } }, baselines: { easeLambda: 250, knnShrink: 50 } });
    expect(config.baselines).toMatchObject({ easeLambda: [250], knnShrink: [50] });
    expect(() => parseRunConfig({ data: { generate: { users: 10, seed: 1 } }, baselines: { easeLambda: [] } })).toThrow(/baselines\.easeLambda/);
  });

  it("names each bad field by its path", () => {
    const bad = (): unknown =>
      parseRunConfig({ data: { files: ["a.csv"] }, model: { dim: 100 }, training: { learningRate: 3 }, split: { ratios: [0.5, 0.5, 0.5] } });
    expect(bad).toThrow(/model\.dim: dim must be one of 64, 128, 256/);
    expect(bad).toThrow(/training\.learningRate: /);
    expect(bad).toThrow(/split\.ratios: ratios must sum to 1/);
    expect(() => parseRunConfig({ training: { epoch: 3 }, data: { files: ["a.csv"] } })).toThrow(/training: Unrecognized key/);
    expect(() => parseRunConfig({ data: { files: ["a.csv"] }, training: { selectOn: "auc" }, split: { holdoutLast: 0 } } as never)).toThrow(
      /split\.holdoutLast: .*training\.selectOn: /,
    );
  });

  it("requires a data source", () => {
    expect(() => parseRunConfig({})).toThrow(/give data\.files \(--data <file\.\.\.>\) or data\.generate/);
  });

  it("lets flags override a config file without erasing its other fields", () => {
    const merged = mergeRunConfig(
      { data: { files: ["a.csv"] }, training: { epochs: 3, batchSize: 64 } },
      { training: { epochs: 9, batchSize: undefined }, model: { dim: 64 } },
    );
    expect(parseRunConfig(merged).training).toMatchObject({ epochs: 9, batchSize: 64 });
    expect(parseRunConfig(merged).model.dim).toBe(64);
  });

  it("trains the towers in parallel (given two cores) unless the config turns it off, and an unset flag keeps the file's choice", () => {
    expect(parseRunConfig({ data: { files: ["a.csv"] } }).training.parallelTowers).toBe(availableParallelism() > 1);
    const off = mergeRunConfig({ data: { files: ["a.csv"] }, training: { parallelTowers: false } }, { training: { parallelTowers: undefined } });
    expect(parseRunConfig(off).training.parallelTowers).toBe(false);
    expect(() => parseRunConfig({ data: { files: ["a.csv"] }, training: { parallelTowers: "yes" } } as never)).toThrow(/training\.parallelTowers/);
  });
});
