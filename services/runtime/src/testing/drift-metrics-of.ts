/** The drift series a server's /metrics exports now, as { "name{labels}": value } (drift e2e tests). */
export async function driftMetricsOf(metricsPort: number | undefined): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^(funnel_(?:feature_psi|model_feature_psi|prediction_psi|drift_observations_total)\{[^}]*\}) (\S+)$/.exec(line);
    if (match) out.set(match[1]!, Number(match[2]));
  }
  return out;
}
