import { describe, expect, it } from "vitest";
import type { RetrievalMetrics } from "../evaluation/retrieval-metrics.js";
import { recommendationBias } from "../evaluation/recommendation-bias.js";
import { renderRunReport, type RunReportInput } from "./render-run-report.js";

const metrics = (scale: number): RetrievalMetrics => ({
  "recall@5": 0.1 * scale,
  "recall@10": 0.2 * scale,
  "recall@20": 0.3 * scale,
  "map@10": 0.05 * scale,
  "ndcg@10": 0.08 * scale,
  users: 500,
});

const input: RunReportInput = {
  title: "Run <7> & friends",
  params: { embeddingDim: 64, optimizer: "adam", schedule: { decay: 0.9 } },
  epochs: [1, 2, 3].map((epoch) => ({
    epoch,
    trainLoss: 3 / epoch,
    validationLoss: 3.5 / epoch,
    gradNorm: 1 / epoch,
    learningRate: 0.001,
    "recall@10": 0.1 * epoch,
  })),
  metrics: { model: metrics(2.5), baselines: { popularity: metrics(1), itemKnn: metrics(2), ease: metrics(3) }, similarUserAccuracy: 0.8125 },
  userMap: [
    { x: 0, y: 0, segment: "readers", device: "mobile" },
    { x: 1, y: 2, segment: "athletes", device: "desktop" },
    { x: 2, y: 1, segment: "readers", device: "desktop" },
  ],
};

describe("renderRunReport", () => {
  const html = renderRunReport(input);

  it("is one self-contained HTML document: no scripts, no external resources", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toMatch(/<script|<link|src=|href=|@import|url\(/i);
    // The only URL is the SVG namespace identifier, which is never fetched.
    expect(html.match(/https?:\/\/[^"]+/g)?.every((u) => u === "http://www.w3.org/2000/svg")).toBe(true);
  });

  it("escapes text that came from outside", () => {
    expect(html).toContain("<title>Run &lt;7&gt; &amp; friends</title>");
    expect(html).not.toContain("Run <7>");
    expect(html).toContain("{&quot;decay&quot;:0.9}");
  });

  it("tabulates model vs baseline with the ratio (0.25 / 0.1 = 2.50×)", () => {
    // model, popularity, item-kNN, EASE, then model / each baseline
    expect(html).toMatch(
      /<th>recall@5<\/th><td>0\.2500<\/td><td>0\.1000<\/td><td>0\.2000<\/td><td>0\.3000<\/td><td class="good">2\.50×<\/td><td class="good">1\.25×<\/td><td class="bad">0\.83×<\/td>/,
    );
    expect(html).toContain("does not beat EASE on recall@10");
    expect(html).toContain("0.8125");
  });

  it("draws labelled charts: loss curves, gradient norm, learning rate, extra metrics, two user maps", () => {
    const titles = [...html.matchAll(/aria-label="([^"]+)"/g)].map((m) => m[1]);
    expect(titles).toEqual([
      "Loss per epoch",
      "Gradient norm",
      "Learning rate",
      "recall@10",
      "Users coloured by latent segment",
      "Users coloured by device",
    ]);
    expect(html).toContain(">train</text>");
    expect(html).toContain(">validation</text>");
    expect(html).toContain(">athletes (1)</text>");
    expect(html).toContain(">readers (2)</text>");
    expect(html).toContain(">desktop (2)</text>");
    expect(html).toContain(">UMAP 1</text>");
    // Two line paths for the loss chart, three points each.
    const lossSvg = html.slice(html.indexOf('aria-label="Loss per epoch"'), html.indexOf('aria-label="Gradient norm"'));
    expect(lossSvg.match(/<path /g)).toHaveLength(2);
    expect(lossSvg.match(/<circle /g)).toHaveLength(6);
  });

  it("says so when parts are missing instead of drawing empty charts", () => {
    const bare = renderRunReport({ ...input, epochs: [], userMap: [], metrics: { model: metrics(1), baselines: { popularity: { ...metrics(0), users: 500 }, itemKnn: metrics(1), ease: metrics(1) } } });
    expect(bare).toContain("No epochs were logged.");
    expect(bare).toContain("No user map was computed.");
    expect(bare).toContain("<td class=\"bad\">n/a</td>");
    expect(bare).not.toContain("<svg");
  });

  it("flags epochs whose loss is not finite", () => {
    const epochs = [...input.epochs, { epoch: 4, trainLoss: Number.NaN, validationLoss: 1, gradNorm: 1, learningRate: 0.001 }];
    expect(renderRunReport({ ...input, epochs })).toContain("1 epoch(s) had a non-finite loss and are not drawn.");
  });
});

describe("renderRunReport bias check", () => {
  it("shows each group's shares and names the flagged ones of a skewed case", () => {
    // Mobile users find 3 items each, desktop 1, tablet none: mobile is 50 % of users but 80 % of hits (120 of 150).
    const hits = new Map(Array.from({ length: 80 }, (_, user) => [user, user < 40 ? 3 : user < 80 - 10 ? 1 : 0]));
    const device = (user: number) => (user < 40 ? "mobile" : user < 70 ? "desktop" : "tablet");
    const bias = recommendationBias(hits, { device }, { maxRatio: 1.4, minUsers: 10 });
    const html = renderRunReport({ ...input, metrics: { ...input.metrics, bias } });
    expect(html).toContain("Bias check: useful recommendations by user group");
    expect(html).toContain("Flagged: device=desktop 0.53×, device=mobile 1.60×, device=tablet 0.00×.");
    expect(html).toMatch(/<tr><th>tablet<\/th><td>10<\/td><td>12\.5 %<\/td><td>0<\/td><td>0\.0 %<\/td><td class="bad">0\.00× flagged<\/td><\/tr>/);
    const even = recommendationBias(new Map([...hits.keys()].map((u) => [u, 1])), { device }, { maxRatio: 1.4, minUsers: 10 });
    expect(renderRunReport({ ...input, metrics: { ...input.metrics, bias: even } })).toContain("No group is past 1.4× either way.");
  });
});
