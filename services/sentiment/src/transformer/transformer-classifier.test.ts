import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { polarityOfLabel, TransformerClassifier, type TransformerClassifierOptions } from "./transformer-classifier.js";

// Written by training/scripts/write-tiny-text-classifier.ts with the training package's real export path
// (a 2-layer, 16-wide model trained on a synthetic corpus), with the tfjs probabilities in expected.json.
const FIXTURE = fileURLToPath(new URL("./testdata/tiny-sentiment", import.meta.url));

interface Expected {
  predictions: { text: string; truncated: boolean; ids: number[]; probabilities: number[] }[];
}

describe("TransformerClassifier", () => {
  let classifier: TransformerClassifier;
  let expected: Expected;
  beforeAll(async () => {
    classifier = await TransformerClassifier.load(FIXTURE);
    expected = JSON.parse(await readFile(path.join(FIXTURE, "expected.json"), "utf8")) as Expected;
  });
  afterAll(() => classifier?.close());

  it("reads labels and the length limit from config.json / tokenizer_config.json", () => {
    expect(classifier.labels).toEqual(["NEGATIVE", "POSITIVE"]);
    expect(classifier.maxLength).toBe(16);
  });

  it("matches the training-side tfjs probabilities within 1e-4, batched together and one by one", async () => {
    // tfjs truncated the long fixture texts; one window reads them the same way.
    const truncating = await TransformerClassifier.load(FIXTURE, { maxWindows: 1 });
    const texts = expected.predictions.map((p) => p.text);
    const batched = await truncating.predict(texts);
    const single = await Promise.all(texts.map(async (t) => (await truncating.predict([t]))[0]!));
    await truncating.close();
    for (const [i, want] of expected.predictions.entries()) {
      for (const got of [batched[i]!, single[i]!]) {
        expect(got.truncated).toBe(want.truncated);
        for (const [c, p] of want.probabilities.entries()) expect(Math.abs(got.probabilities[c]! - p)).toBeLessThan(1e-4);
      }
    }
  });

  it("labels clear texts, flags truncation instead of rejecting, keeps input order", async () => {
    const long = "my order was broken and the refund was slow so i hate this useless page and the product ".repeat(20);
    const [pos, neg, cut] = await classifier.predict(["great checkout really love it", "awful slow delivery", long]);
    expect(pos).toMatchObject({ label: "POSITIVE", labelIndex: 1, polarity: "positive", truncated: false });
    expect(pos!.score).toBeGreaterThan(0.9);
    expect(pos!.sentiment).toBeGreaterThan(0.8);
    expect(neg).toMatchObject({ label: "NEGATIVE", polarity: "negative", truncated: false });
    expect(neg!.sentiment).toBeLessThan(-0.8);
    // The margin is the log-odds of the two sides: log(P(pos) / P(neg)) for two classes.
    for (const p of [pos!, neg!]) expect(p.margin).toBeCloseTo(Math.log(p.probabilities[1]! / p.probabilities[0]!), 4);
    expect(pos!.margin).toBeGreaterThan(2);
    expect(cut!.truncated).toBe(true);
    expect(cut!.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(await classifier.predict([])).toEqual([]);
  });

  it("reads a long text in half-overlapping windows and averages their logits, so a verdict at the end counts", async () => {
    const text = `great checkout really love it ${"my order page ".repeat(3)}awful slow delivery broken useless`;
    const truncating = await TransformerClassifier.load(FIXTURE, { maxWindows: 1 });
    const [cut] = await truncating.predict([text]);
    const [fitting] = await truncating.predict(["awful slow delivery"]);
    await truncating.close();
    const [windowed, short] = await classifier.predict([text, "awful slow delivery"]);
    expect(cut).toMatchObject({ truncated: true, windows: 1, polarity: "positive" });
    expect(windowed).toMatchObject({ truncated: false, polarity: "negative" });
    expect(windowed!.windows).toBeGreaterThan(1);
    // A text that fits is one window: windowing changes nothing for it.
    expect(short!.windows).toBe(1);
    expect(short!.margin).toBeCloseTo(fitting!.margin, 5);
  });

  it("loads another HF layout: LABEL_i names, no tokenizer_config.json (length from max_position_embeddings)", async () => {
    await withFixtureCopy(
      async (dir) => {
        await rm(path.join(dir, "tokenizer_config.json"));
        const config = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8"));
        config.id2label = { 0: "LABEL_0", 1: "LABEL_1" };
        config.max_position_embeddings = 12;
        await writeFile(path.join(dir, "config.json"), JSON.stringify(config));
      },
      async (other) => {
        expect(other.maxLength).toBe(12);
        const [p] = await other.predict(["great checkout really love it"]);
        expect(p).toMatchObject({ label: "LABEL_1", polarity: "positive" });
      },
    );
  });

  it("feeds token_type_ids (as zeros) to a BERT-style three-input export and gets the same probabilities", async () => {
    await withFixtureCopy(
      (dir) => cp(path.join(FIXTURE, "model-token-types.onnx"), path.join(dir, "model.onnx")),
      async (bert) => {
        const got = await bert.predict(expected.predictions.map((p) => p.text));
        for (const [i, want] of expected.predictions.entries()) {
          for (const [c, p] of want.probabilities.entries()) expect(Math.abs(got[i]!.probabilities[c]! - p)).toBeLessThan(1e-4);
        }
      },
      // tfjs truncated the long fixture texts; one window reads them the same way.
      { maxWindows: 1 },
    );
  });

  it("names the missing file when a directory is incomplete", async () => {
    await expect(withFixtureCopy((dir) => rm(path.join(dir, "tokenizer.json")), async () => {})).rejects.toThrow(/tokenizer\.json: cannot read/);
  });
});

/** Loads a changed copy of the fixture, runs `check`, and always closes the classifier and removes the copy. */
async function withFixtureCopy(
  change: (dir: string) => Promise<unknown>,
  check: (classifier: TransformerClassifier) => Promise<void>,
  options: TransformerClassifierOptions = {},
): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "hf-layout-"));
  try {
    await cp(FIXTURE, dir, { recursive: true });
    await change(dir);
    const classifier = await TransformerClassifier.load(dir, options);
    try {
      await check(classifier);
    } finally {
      await classifier.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("polarityOfLabel", () => {
  it("maps common class-name conventions", () => {
    expect(polarityOfLabel("NEGATIVE", 2)).toBe("negative");
    expect(polarityOfLabel("positive", 3)).toBe("positive");
    expect(polarityOfLabel("Neutral", 3)).toBe("neutral");
    expect(polarityOfLabel("LABEL_0", 2)).toBe("negative");
    expect(polarityOfLabel("LABEL_1", 2)).toBe("positive");
    expect(polarityOfLabel("LABEL_1", 3)).toBe("neutral");
    expect(polarityOfLabel("2 stars", 5)).toBe("negative");
    expect(polarityOfLabel("5 stars", 5)).toBe("positive");
    expect(polarityOfLabel("sports", 4)).toBe("other");
  });
});
