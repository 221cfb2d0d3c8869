// Schema validation of rendered objects against the Kubernetes OpenAPI schemas shipped in kubernetes-models.
import { ConfigMap, Namespace, PersistentVolumeClaim, Service, ServiceAccount } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { CronJob } from "kubernetes-models/batch/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodMonitor, PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import type { Resource } from "./render-overlay.js";

interface Validatable {
  validate(): void;
}

/** Every kind the manifests may use. A kind missing here is an error, so nothing ships unvalidated. */
const MODELS: Record<string, new (data: any) => Validatable> = {
  "v1/Namespace": Namespace,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "v1/ConfigMap": ConfigMap,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "apps/v1/Deployment": Deployment,
  "batch/v1/CronJob": CronJob,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  // Prometheus Operator CRDs, validated against the schemas of their CRDs (kubernetes-models' package).
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "monitoring.coreos.com/v1/PodMonitor": PodMonitor,
};

/** Throws with the schema errors (JSON paths) when the object is not a valid instance of its kind. */
export function validateResource(resource: Resource): void {
  const key = `${resource.apiVersion}/${resource.kind}`;
  const Model = MODELS[key];
  if (!Model) throw new Error(`${key} ${resource.metadata?.name}: no schema for this kind; add it to MODELS in validate-resource.ts`);
  try {
    new Model(resource).validate();
  } catch (error) {
    throw new Error(`${key} ${resource.metadata.name}: ${(error as Error).message}`);
  }
}
