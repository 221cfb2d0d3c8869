import { BASELINE_LABELS, BASELINES, type BaselineMetrics } from "../evaluation/fit-baselines.js";
import type { RetrievalMetrics } from "../evaluation/retrieval-metrics.js";
import type { RankerComparison } from "../evaluation/compare-rankers.js";
import type { RecommendationBias } from "../evaluation/recommendation-bias.js";
import { htmlPage } from "./html-page.js";
import { escapeHtml, lineChart, scatterChart, type LineSeries } from "./svg-charts.js";

export interface EpochLog {
  epoch: number;
  trainLoss: number;
  validationLoss: number;
  gradNorm: number;
  learningRate: number;
  /** Any further per-epoch numbers (e.g. validation recall@10) get their own chart. */
  [metric: string]: number;
}

export interface RunReportInput {
  title: string;
  params: Record<string, unknown>;
  epochs: EpochLog[];
  metrics: {
    /** The policy RecommendItems serves (weights fitted on validation), on the same test users. */
    served?: {
      test: RetrievalMetrics;
      weights: Record<string, number>;
      neighbours: { method: string; k: number } | null;
      fit: { single: Record<string, number>; compared: number };
      /** served − each other ranker: paired bootstrap intervals with verdicts. */
      intervals?: Record<string, Partial<Record<string, { mean: number; low: number; high: number; verdict: string; users: number }>>>;
    };
    model: RetrievalMetrics;
    /** Every baseline on the same split; the model is worth serving only where it beats them. */
    baselines: BaselineMetrics;
    /** Who was (not) scored, e.g. usersWithoutHistory; shown under the table. */
    coverage?: Record<string, number>;
    similarUserAccuracy?: number;
    /** Share of useful recommendations per user group against its share of users. */
    bias?: RecommendationBias;
    /** Paired bootstrap intervals of model − each baseline; the verdicts replace "beats / does not beat". */
    intervals?: RankerComparison;
    /** Split, refit, epoch selection, how the baselines were tuned: shown above the table. */
    protocol?: Record<string, unknown>;
    /** The baselines' values chosen on validation. */
    baselineParams?: { easeLambda: number; knnShrink: number; knnNeighbours: number };
    warnings?: string[];
  };
  userMap: { x: number; y: number; segment: string; device: string }[];
}

const METRIC_KEYS = ["recall@5", "recall@10", "recall@20", "map@10", "ndcg@10"] as const;
const FIXED_EPOCH_KEYS = new Set(["epoch", "trainLoss", "validationLoss", "gradNorm", "learningRate"]);

/** The served policy beside each of its components and every baseline, with its weights. */
function renderServed(served: NonNullable<RunReportInput["metrics"]["served"]>, model: RetrievalMetrics, baselines: BaselineMetrics): string {
  const rows: [string, RetrievalMetrics][] = [["served policy", served.test], ["two-tower (retrieval alone)", model], ...BASELINES.map((b): [string, RetrievalMetrics] => [BASELINE_LABELS[b], baselines[b]])];
  const body = rows
    .map(
      ([name, m], i) =>
        `<tr${i === 0 ? ' class="good"' : ""}><th>${name}</th><td>${m["recall@10"].toFixed(4)}</td><td>${m["ndcg@10"].toFixed(4)}</td><td>${m["recall@20"].toFixed(4)}</td><td>${m.users}</td></tr>`,
    )
    .join("");
  const weights = Object.entries(served.weights)
    .map(([s, w]) => `${s} ${w.toFixed(2)} (alone on validation: recall@10 ${(served.fit.single[s] ?? 0).toFixed(4)})`)
    .join("; ");
  const signed = (x: number): string => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(4);
  const intervalRows = Object.entries(served.intervals ?? {}).flatMap(([other, byMetric]) =>
    Object.entries(byMetric).map(
      ([metric, i]) =>
        `<tr><th>served − ${escapeHtml(BASELINE_LABELS[other as keyof typeof BASELINE_LABELS] ?? other)}</th><td>${metric}</td><td>${signed(i!.mean)}</td><td>[${signed(i!.low)}, ${signed(i!.high)}]</td>` +
        `<td class="${i!.verdict === "ahead" ? "good" : i!.verdict === "behind" ? "bad" : ""}">${i!.verdict}</td><td>${i!.users}</td></tr>`,
    ),
  );
  return [
    "<h2>Served policy (what RecommendItems answers)</h2>",
    `<p>Blend weights fitted on validation over ${served.fit.compared} combinations: ${weights}. Item neighbours: ${served.neighbours ? `${served.neighbours.method}, top ${served.neighbours.k} per item` : "none"}.</p>`,
    `<table><thead><tr><th>test</th><th>recall@10</th><th>ndcg@10</th><th>recall@20</th><th>users scored</th></tr></thead><tbody>${body}</tbody></table>`,
    ...(intervalRows.length > 0
      ? [
          `<table><thead><tr><th>comparison</th><th>metric</th><th>mean difference</th><th>95 % interval</th><th>verdict</th><th>users</th></tr></thead><tbody>${intervalRows.join("")}</tbody></table>`,
        ]
      : []),
  ].join("\n");
}

/**
 * One self-contained HTML page per training run: parameters, metrics against the popularity baseline, loss
 * and gradient curves, and 2-D user maps by segment and by device. Inline SVG and CSS only, so it opens from
 * an artifact store or an e-mail without network access.
 */
export function renderRunReport(run: RunReportInput): string {
  const { model, baselines } = run.metrics;
  const sections: string[] = [];

  sections.push(`<h2>Retrieval metrics (test split, ${model.users} users; items seen in training excluded)</h2>`);
  const ratioCell = (m: number, b: number): string => {
    const ratio = b > 0 ? m / b : undefined;
    return `<td class="${ratio !== undefined && ratio >= 1 ? "good" : "bad"}">${ratio === undefined ? "n/a" : `${ratio.toFixed(2)}×`}</td>`;
  };
  const rows = METRIC_KEYS.map(
    (key) =>
      `<tr><th>${key}</th><td>${model[key].toFixed(4)}</td>${BASELINES.map((b) => `<td>${baselines[b][key].toFixed(4)}</td>`).join("")}${BASELINES.map((b) =>
        ratioCell(model[key], baselines[b][key]),
      ).join("")}</tr>`,
  );
  const p = run.metrics.baselineParams;
  const labels = BASELINES.map((b) =>
    p && b === "ease" ? `EASE (λ ${p.easeLambda})` : p && b === "itemKnn" ? `item-kNN (shrink ${p.knnShrink}, ${p.knnNeighbours || "all"} neighbours)` : BASELINE_LABELS[b],
  );
  if (run.metrics.protocol) {
    sections.push(
      `<p>Protocol: ${Object.entries(run.metrics.protocol)
        .map(([k, v]) => `${escapeHtml(k)} <strong>${escapeHtml(String(v))}</strong>`)
        .join(" · ")}</p>`,
    );
  }
  sections.push(
    `<table><thead><tr><th>metric</th><th>two-tower</th>${labels.map((l) => `<th>${l}</th>`).join("")}${labels
      .map((l) => `<th>model / ${l}</th>`)
      .join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>`,
  );
  const intervals = run.metrics.intervals;
  if (intervals) {
    const signed = (x: number): string => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(4);
    const intervalRows = BASELINES.flatMap((b) =>
      Object.entries(intervals[b] ?? {}).map(
        ([metric, i]) =>
          `<tr><th>two-tower − ${BASELINE_LABELS[b]}</th><td>${metric}</td><td>${signed(i!.mean)}</td><td>[${signed(i!.low)}, ${signed(i!.high)}]</td>` +
          `<td class="${i!.verdict === "ahead" ? "good" : i!.verdict === "behind" ? "bad" : ""}">${i!.verdict}</td><td>${i!.users}</td></tr>`,
      ),
    );
    sections.push(
      "<h3>Differences with 95 % intervals (per-user paired bootstrap)</h3>",
      `<table><thead><tr><th>comparison</th><th>metric</th><th>mean difference</th><th>95 % interval</th><th>verdict</th><th>users</th></tr></thead><tbody>${intervalRows.join("")}</tbody></table>`,
    );
  } else {
    const beaten = BASELINES.filter((b) => baselines[b]["recall@10"] >= model["recall@10"]).map((b) => BASELINE_LABELS[b]);
    sections.push(
      beaten.length > 0
        ? `<p class="bad">The two-tower model does not beat ${beaten.join(", ")} on recall@10 here.</p>`
        : `<p class="good">The two-tower model beats every baseline on recall@10.</p>`,
    );
  }
  for (const warning of run.metrics.warnings ?? []) sections.push(`<p class="bad">Warning: ${escapeHtml(warning)}</p>`);
  if (run.metrics.served) sections.push(renderServed(run.metrics.served, model, baselines));
  if (run.metrics.coverage) {
    sections.push(
      `<p>${Object.entries(run.metrics.coverage)
        .map(([k, v]) => `${escapeHtml(k)}: <strong>${v}</strong>`)
        .join(" · ")}</p>`,
    );
  }
  if (run.metrics.similarUserAccuracy !== undefined) {
    sections.push(
      `<p>Similar-user top-K accuracy (share of nearest users in the same segment): <strong>${run.metrics.similarUserAccuracy.toFixed(4)}</strong></p>`,
    );
  }

  if (run.metrics.bias) sections.push(renderBias(run.metrics.bias));

  sections.push("<h2>Training curves</h2>");
  if (run.epochs.length === 0) {
    sections.push("<p>No epochs were logged.</p>");
  } else {
    const series = (name: string, key: string): LineSeries => ({ name, points: run.epochs.map((e) => ({ x: e.epoch, y: e[key]! })) });
    const skipped = run.epochs.filter((e) => !Number.isFinite(e.trainLoss) || !Number.isFinite(e.validationLoss)).length;
    sections.push(lineChart({ title: "Loss per epoch", xLabel: "epoch", yLabel: "loss", series: [series("train", "trainLoss"), series("validation", "validationLoss")] }));
    if (skipped > 0) sections.push(`<p class="bad">${skipped} epoch(s) had a non-finite loss and are not drawn.</p>`);
    sections.push(`<div class="pair">${lineChart({ title: "Gradient norm", xLabel: "epoch", yLabel: "global L2 norm", series: [series("gradient norm", "gradNorm")], width: 560, height: 280 })}${lineChart({ title: "Learning rate", xLabel: "epoch", yLabel: "learning rate", series: [series("learning rate", "learningRate")], width: 560, height: 280 })}</div>`);
    const extra = [...new Set(run.epochs.flatMap((e) => Object.keys(e)))].filter((k) => !FIXED_EPOCH_KEYS.has(k)).sort();
    // One small chart per extra value: they come in unrelated units (recall, seconds, samples/s), so a
    // shared axis would flatten all but the largest.
    if (extra.length > 0) {
      const charts = extra.map((k) => lineChart({ title: k, xLabel: "epoch", yLabel: k, series: [series(k, k)], width: 560, height: 260 }));
      sections.push(`<h3>Other per-epoch values</h3><div class="pair">${charts.join("")}</div>`);
    }
  }

  sections.push(`<h2>User embeddings in 2-D (UMAP, ${run.userMap.length} users)</h2>`);
  if (run.userMap.length === 0) {
    sections.push("<p>No user map was computed.</p>");
  } else {
    const pointsBy = (key: "segment" | "device") => run.userMap.map((p) => ({ x: p.x, y: p.y, group: p[key] }));
    const groups = (key: "segment" | "device") => [...new Set(run.userMap.map((p) => p[key]))].sort();
    sections.push(
      scatterChart({ title: "Users coloured by latent segment", xLabel: "UMAP 1", yLabel: "UMAP 2", points: pointsBy("segment"), groups: groups("segment") }),
    );
    sections.push(
      scatterChart({ title: "Users coloured by device", xLabel: "UMAP 1", yLabel: "UMAP 2", points: pointsBy("device"), groups: groups("device") }),
    );
  }

  sections.push("<h2>Parameters</h2>");
  const params = Object.entries(run.params).map(
    ([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(typeof v === "string" ? v : JSON.stringify(v) ?? String(v))}</td></tr>`,
  );
  sections.push(`<table><tbody>${params.join("")}</tbody></table>`);

  return htmlPage(run.title, sections.join("\n"));
}

/** One table per dimension: each group's share of users beside its share of useful top-10 recommendations. */
function renderBias(bias: RecommendationBias): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
  const out = [
    `<h2>Bias check: useful recommendations by user group (test split, top ${bias.k})</h2>`,
    `<p>Every user gets ${bias.k} recommendations, so a group's share of them equals its share of users; the check compares its share of the <em>hits</em> ` +
      `(recommended items the user interacted with in the held-out part, ${bias.hits} among ${bias.users} users). Flagged: ratio above ${bias.maxRatio}× ` +
      `or below ${(1 / bias.maxRatio).toFixed(2)}×, for groups of at least ${bias.minUsers} users.</p>`,
    bias.flagged.length > 0
      ? `<p class="bad">Flagged: ${bias.flagged.map(escapeHtml).join(", ")}.</p>`
      : `<p class="good">No group is past ${bias.maxRatio}× either way.</p>`,
  ];
  for (const d of bias.dimensions) {
    const rows = d.groups.map(
      (g) =>
        `<tr><th>${escapeHtml(g.group)}</th><td>${g.users}</td><td>${pct(g.userShare)}</td><td>${g.hits}</td><td>${pct(g.hitShare)}</td>` +
        `<td class="${g.flagged ? "bad" : ""}">${g.ratio === null ? "n/a" : `${g.ratio.toFixed(2)}×`}${g.flagged ? " flagged" : ""}</td></tr>`,
    );
    out.push(
      `<h3>${escapeHtml(d.dimension)}</h3><table><thead><tr><th>group</th><th>users</th><th>share of users</th><th>hits</th><th>share of hits</th><th>ratio</th></tr></thead><tbody>${rows.join("")}</tbody></table>`,
    );
  }
  return out.join("\n");
}
