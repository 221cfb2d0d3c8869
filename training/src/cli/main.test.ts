import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../testing/run-cli.js";
import { generateDataset, loadEvents } from "../data/index.js";
import { parseRunConfig } from "./run-config.js";

const cli = runCli;

describe("funnel-training CLI", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "two-tower-cli-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("gen-data writes the generator's events and an item attribute table", async () => {
    const out = path.join(dir, "events.csv");
    const result = await cli(["gen-data", "--users", "30", "--seed", "5", "--out", out]);
    expect(result.code).toBe(0);
    const expected = generateDataset({ users: 30, seed: 5 });
    const loaded = await loadEvents([out], { strict: true });
    expect(loaded.events).toHaveLength(expected.events.length);
    expect(loaded.events[0]!.userId).toBe(expected.events[0]!.userId);
    const items = (await readFile(path.join(dir, "events.items.csv"), "utf8")).trimEnd().split("\n");
    expect(items[0]).toBe("item_id,category");
    expect(items).toHaveLength(expected.items.length + 1);
  });

  it("train --help shows the default of every run setting, from the run config's one declaration", async () => {
    const result = await cli(["train", "--help"]);
    expect(result.code).toBe(0);
    // One entry per option: commander starts each at "  -" and wraps its description onto indented lines.
    const entries = result.stdout.split(/\n(?= {2}-)/).map((e) => e.replace(/\s+/g, " ").trim());
    const config = parseRunConfig({ data: { generate: { users: 1, seed: 1 } } });
    const t = config.training;
    for (const [flag, value] of [
      ["--split <strategy>", config.split.strategy],
      ["--holdout-last <n>", config.split.holdoutLast],
      ["--refit", config.evaluation.refit],
      ["--ease-lambda <list>", config.baselines.easeLambda.join(",")],
      ["--knn-shrink <list>", config.baselines.knnShrink.join(",")],
      ["--knn-neighbours <list>", config.baselines.knnNeighbours.join(",")],
      ["--bootstrap-resamples <n>", config.evaluation.bootstrapResamples],
      ["--min-scored-users <n>", config.evaluation.minScoredUsers],
      ["--dim <n>", config.model.dim],
      ["--epochs <n>", t.epochs],
      ["--batch-size <n>", t.batchSize],
      ["--lr <x>", t.learningRate],
      ["--patience <n>", t.patience],
      ["--temperature <x>", t.temperature],
      ["--dropout <x>", t.dropout],
      ["--seed <n>", config.seed],
    ] as const) {
      const entry = entries.find((e) => e.startsWith(`${flag} `));
      expect(entry, flag).toContain(`(default: ${value})`);
    }
  });

  it("train rejects a bad dimension and names the flag's config field", async () => {
    const result = await cli(["train", "--generate", "--users", "20", "--dim", "100", "--out", path.join(dir, "never")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: invalid run flags: model\.dim: dim must be one of 64, 128, 256/);
  });

  it("import converts an online-retail log and summarises skipped rows by reason", async () => {
    const file = path.join(dir, "retail.csv");
    await writeFile(
      file,
      "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" +
        "536365,85123A,HEART,6,2010-12-01T08:26:00,2.55,17850,United Kingdom\n536366,22633,WARMER,6,2010-12-01T08:28:00,1.85,,United Kingdom\n",
    );
    const out = path.join(dir, "retail-events.csv");
    const result = await cli(["import", "online-retail", "--in", file, "--out", out, "--no-progress"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ rowsRead: 2, rowsImported: 1, skipped: { anonymous: 1 } });
    expect(result.stderr).toContain(`${file}:3: anonymous: CustomerID is empty`);
    expect((await loadEvents([out], { strict: true })).events).toHaveLength(1);
    expect(await readFile(path.join(dir, "retail-events.users.csv"), "utf8")).toBe("user_id,Country\n17850,United Kingdom\n");
  });

  it("train says --users is a count and points a table to --user-attributes", async () => {
    const result = await cli(["train", "--data", "events.csv", "--users", "users.csv"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("--users is the number of users to generate, got \"users.csv\"; for a user attribute table use --user-attributes users.csv");
  });

  it("train without data says what to pass", async () => {
    const result = await cli(["train", "--out", path.join(dir, "never")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--data <file\.\.\.>\) or data\.generate \(--generate/);
  });
});
