// Drift of the served model versions as Prometheus metrics, read from the models when /metrics is scraped (the
// PSI is computed then, not per call). Alerts and dashboards in k8s/ name these metrics: keep the names.
import type { ModelDrift } from "@funnel/proto";
import { Counter, Gauge, type Registry } from "prom-client";

export const DRIFT_METRIC_NAMES = {
  featurePsi: "funnel_feature_psi",
  modelFeaturePsi: "funnel_model_feature_psi",
  predictionPsi: "funnel_prediction_psi",
  observations: "funnel_drift_observations_total",
} as const;

/** Registers the drift metrics on `registry`; `drifts` is asked on every scrape. */
export function registerDriftMetrics(registry: Registry, drifts: () => ModelDrift[]): void {
  // Rebuilt from the models on each scrape: a released version's series disappear with it.
  new Gauge({
    name: DRIFT_METRIC_NAMES.featurePsi,
    help: "Population stability index of one feature: rolling window of served rows vs the version's training profile (0.1 watch, 0.25 drift).",
    labelNames: ["model", "version", "feature"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const d of drifts()) for (const f of d.features) if (f.psiAvailable) this.set({ model: d.name, version: d.version, feature: f.name }, f.psi);
    },
  });
  new Gauge({
    name: DRIFT_METRIC_NAMES.modelFeaturePsi,
    help: "Mean population stability index over the features of a served version (those with enough live rows).",
    labelNames: ["model", "version"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const d of drifts()) if (d.featurePsiAvailable) this.set({ model: d.name, version: d.version }, d.featurePsi);
    },
  });
  new Gauge({
    name: DRIFT_METRIC_NAMES.predictionPsi,
    help: "Population stability index of the served users' scores (user vector · mean item vector) vs the training users'.",
    labelNames: ["model", "version"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const d of drifts()) if (d.prediction?.psiAvailable) this.set({ model: d.name, version: d.version }, d.prediction.psi);
    },
  });
  new Counter({
    name: DRIFT_METRIC_NAMES.observations,
    help: "Rows (users and items encoded from features) a served version has counted into its drift profile since it was loaded.",
    labelNames: ["model", "version"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const d of drifts()) if (d.available) this.inc({ model: d.name, version: d.version }, d.observations);
    },
  });
}
