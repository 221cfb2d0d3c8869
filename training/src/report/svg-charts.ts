import { scaleLinear } from "d3-scale";

/** Tableau 10: distinguishable categorical colours that also survive common colour-vision deficiencies. */
export const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

const MARGIN = { top: 40, bottom: 50, left: 84 };

/** Room for the legend: about 7 px per character at 12 px, plus the marker. */
function rightMargin(labels: string[]): number {
  return Math.max(120, 48 + 7 * Math.max(0, ...labels.map((l) => l.length)));
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return [0, 1];
  // A flat series still needs a visible range.
  if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.5, hi + (Math.abs(hi) || 1) * 0.5];
  return [lo, hi];
}

interface Frame {
  x: (v: number) => number;
  y: (v: number) => number;
  svg: string[];
}

function frame(
  title: string,
  xLabel: string,
  yLabel: string,
  xDomain: [number, number],
  yDomain: [number, number],
  width: number,
  height: number,
  right: number,
  integerX = false,
): Frame {
  const x = scaleLinear().domain(xDomain).range([MARGIN.left, width - right]).nice();
  const y = scaleLinear().domain(yDomain).range([height - MARGIN.bottom, MARGIN.top]).nice();
  const svg: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${escapeHtml(title)}</text>`,
  ];
  const [x0, x1] = x.range() as [number, number];
  const [y0, y1] = y.range() as [number, number];
  const xTicks = x.ticks(8).filter((t) => !integerX || Number.isInteger(t));
  // d3's tick format gives every tick of an axis the same precision (0.0004, 0.0006, … rather than a mix).
  const formatX = integerX ? (t: number) => String(t) : x.tickFormat(8);
  const formatY = y.tickFormat(6);
  for (const t of y.ticks(6)) {
    svg.push(`<line x1="${x0}" x2="${x1}" y1="${y(t)}" y2="${y(t)}" stroke="#e5e5e5"/>`);
    svg.push(`<text x="${x0 - 8}" y="${y(t) + 4}" text-anchor="end" font-size="12">${formatY(t)}</text>`);
  }
  for (const t of xTicks) {
    svg.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${y0}" y2="${y0 + 5}" stroke="#333"/>`);
    svg.push(`<text x="${x(t)}" y="${y0 + 20}" text-anchor="middle" font-size="12">${formatX(t)}</text>`);
  }
  svg.push(`<line x1="${x0}" x2="${x1}" y1="${y0}" y2="${y0}" stroke="#333"/>`);
  svg.push(`<line x1="${x0}" x2="${x0}" y1="${y0}" y2="${y1}" stroke="#333"/>`);
  svg.push(`<text x="${(x0 + x1) / 2}" y="${height - 10}" text-anchor="middle" font-size="13">${escapeHtml(xLabel)}</text>`);
  svg.push(
    `<text transform="translate(16 ${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle" font-size="13">${escapeHtml(yLabel)}</text>`,
  );
  return { x: (v) => x(v), y: (v) => y(v), svg };
}

function legend(svg: string[], width: number, right: number, entries: { name: string; color: string; marker: "line" | "dot" }[]): void {
  const left = width - right + 16;
  entries.forEach((entry, i) => {
    const top = MARGIN.top + 8 + i * 20;
    svg.push(
      entry.marker === "line"
        ? `<line x1="${left}" x2="${left + 18}" y1="${top}" y2="${top}" stroke="${entry.color}" stroke-width="3"/>`
        : `<circle cx="${left + 9}" cy="${top}" r="5" fill="${entry.color}"/>`,
    );
    svg.push(`<text x="${left + 24}" y="${top + 4}" font-size="12">${escapeHtml(entry.name)}</text>`);
  });
}

export interface LineSeries {
  name: string;
  points: { x: number; y: number }[];
}

/** Line chart with axes, gridlines, axis labels and a legend. Non-finite points are not drawn. */
export function lineChart(args: { title: string; xLabel: string; yLabel: string; series: LineSeries[]; width?: number; height?: number }): string {
  const width = args.width ?? 760;
  const height = args.height ?? 320;
  const right = rightMargin(args.series.map((s) => s.name));
  const finite = args.series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)));
  const f = frame(args.title, args.xLabel, args.yLabel, extent(finite.map((p) => p.x)), extent(finite.map((p) => p.y)), width, height, right, true);
  args.series.forEach((series, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = series.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (pts.length > 1) {
      const d = pts.map((p, j) => `${j === 0 ? "M" : "L"}${f.x(p.x).toFixed(1)},${f.y(p.y).toFixed(1)}`).join("");
      f.svg.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2.5"/>`);
    }
    for (const p of pts) f.svg.push(`<circle cx="${f.x(p.x).toFixed(1)}" cy="${f.y(p.y).toFixed(1)}" r="3" fill="${color}"/>`);
  });
  legend(f.svg, width, right, args.series.map((s, i) => ({ name: s.name, color: PALETTE[i % PALETTE.length]!, marker: "line" })));
  f.svg.push("</svg>");
  return f.svg.join("\n");
}

/** Scatter plot coloured by group, legend in first-seen order (or `groups` order when given). */
export function scatterChart(args: {
  title: string;
  xLabel: string;
  yLabel: string;
  points: { x: number; y: number; group: string }[];
  groups?: string[];
  width?: number;
  height?: number;
}): string {
  const width = args.width ?? 760;
  const height = args.height ?? 520;
  const groups = args.groups ?? [...new Set(args.points.map((p) => p.group))];
  const counts = new Map<string, number>();
  for (const p of args.points) counts.set(p.group, (counts.get(p.group) ?? 0) + 1);
  const labels = groups.map((g) => `${g} (${counts.get(g) ?? 0})`);
  const right = rightMargin(labels);
  const f = frame(args.title, args.xLabel, args.yLabel, extent(args.points.map((p) => p.x)), extent(args.points.map((p) => p.y)), width, height, right);
  const colorOf = new Map(groups.map((g, i) => [g, PALETTE[i % PALETTE.length]!]));
  for (const p of args.points) {
    f.svg.push(
      `<circle cx="${f.x(p.x).toFixed(1)}" cy="${f.y(p.y).toFixed(1)}" r="3" fill="${colorOf.get(p.group) ?? "#000"}" fill-opacity="0.7"/>`,
    );
  }
  legend(f.svg, width, right, groups.map((g, i) => ({ name: labels[i]!, color: colorOf.get(g)!, marker: "dot" })));
  f.svg.push("</svg>");
  return f.svg.join("\n");
}

/**
 * Bars of two or more distributions over the same bins, side by side per bin (e.g. reference vs live shares).
 * Long or many bin labels are drawn slanted so they stay readable.
 */
export function groupedBarChart(args: {
  title: string;
  yLabel: string;
  bins: string[];
  series: { name: string; values: number[]; color?: string }[];
  width?: number;
  height?: number;
  /** Frame colour, e.g. to mark a drifted feature. */
  border?: string;
}): string {
  const width = args.width ?? 560;
  const slanted = args.bins.length > 6 || args.bins.some((b) => b.length > 9);
  const bottom = slanted ? 24 + 6 * Math.min(18, Math.max(...args.bins.map((b) => b.length))) : MARGIN.bottom;
  const height = (args.height ?? 250) + (bottom - MARGIN.bottom);
  const left = 56;
  const right = 16;
  const top = 56;
  const max = Math.max(1e-9, ...args.series.flatMap((s) => s.values));
  const y = scaleLinear().domain([0, max]).range([height - bottom, top]).nice();
  const x0 = left;
  const x1 = width - right;
  const band = (x1 - x0) / Math.max(1, args.bins.length);
  const barWidth = Math.max(1, (band * 0.8) / args.series.length);
  const svg: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(args.title)}">`,
    `<rect x="0.5" y="0.5" width="${width - 1}" height="${height - 1}" fill="#fff" stroke="${args.border ?? "#ddd"}" stroke-width="${args.border ? 3 : 1}"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeHtml(args.title)}</text>`,
  ];
  const formatY = y.tickFormat(5, "%");
  for (const t of y.ticks(5)) {
    svg.push(`<line x1="${x0}" x2="${x1}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/>`);
    svg.push(`<text x="${x0 - 6}" y="${y(t) + 4}" text-anchor="end" font-size="11">${formatY(t)}</text>`);
  }
  args.bins.forEach((bin, i) => {
    const start = x0 + i * band + band * 0.1;
    args.series.forEach((s, k) => {
      const value = s.values[i] ?? 0;
      const h = y(0) - y(value);
      svg.push(`<rect x="${(start + k * barWidth).toFixed(1)}" y="${y(value).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${Math.max(0, h).toFixed(1)}" fill="${s.color ?? PALETTE[k % PALETTE.length]}"><title>${escapeHtml(`${s.name} ${bin}: ${(value * 100).toFixed(2)} %`)}</title></rect>`);
    });
    const cx = x0 + (i + 0.5) * band;
    const label = bin.length > 18 ? `${bin.slice(0, 17)}…` : bin;
    svg.push(
      slanted
        ? `<text transform="translate(${cx.toFixed(1)} ${y(0) + 12}) rotate(-40)" text-anchor="end" font-size="11">${escapeHtml(label)}</text>`
        : `<text x="${cx.toFixed(1)}" y="${y(0) + 16}" text-anchor="middle" font-size="11">${escapeHtml(label)}</text>`,
    );
  });
  svg.push(`<line x1="${x0}" x2="${x1}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  svg.push(`<text transform="translate(14 ${(top + y(0)) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeHtml(args.yLabel)}</text>`);
  args.series.forEach((s, k) => {
    const lx = x0 + k * 110;
    svg.push(`<rect x="${lx}" y="34" width="12" height="12" fill="${s.color ?? PALETTE[k % PALETTE.length]}"/>`);
    svg.push(`<text x="${lx + 17}" y="44" font-size="12">${escapeHtml(s.name)}</text>`);
  });
  svg.push("</svg>");
  return svg.join("\n");
}
