export interface MetricDiffRow {
  metric: string;
  left: number | undefined;
  right: number | undefined;
  /** right − left, when both exist. */
  delta: number | undefined;
}

/** Side-by-side metrics of two versions; metrics present in only one side are kept (shown as missing), never dropped. */
export function diffMetrics(left: Record<string, number>, right: Record<string, number>): MetricDiffRow[] {
  const names = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
  return names.map((metric) => {
    const l = left[metric];
    const r = right[metric];
    return { metric, left: l, right: r, delta: l !== undefined && r !== undefined ? r - l : undefined };
  });
}
