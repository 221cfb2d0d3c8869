// The invariant check must catch what it claims to: each case breaks one rule in an otherwise good overlay.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { manifestViolations } from "./manifest-violations.js";
import { findKubectl, renderOverlay, type Resource } from "./render-overlay.js";
import { validateResource } from "./validate-resource.js";

const prodDir = fileURLToPath(new URL("../overlays/prod", import.meta.url));
let good: Resource[];

beforeAll(() => {
  if (findKubectl()) good = renderOverlay(path.resolve(prodDir));
}, 60_000);

/** A deep copy of the good overlay with one change applied to the named object. */
function broken(kind: string, name: string, change: (resource: any) => void): Resource[] {
  const copy = structuredClone(good);
  const target = copy.find((r) => r.kind === kind && r.metadata.name === name);
  if (!target) throw new Error(`${kind} ${name} not in the overlay`);
  change(target);
  return copy;
}

const server = (d: any) => d.spec.template.spec.containers[0];

describe.skipIf(!findKubectl())("manifestViolations catches", () => {
  it("nothing in the good overlay", () => {
    expect(manifestViolations(good, { namespace: "funnel" })).toEqual([]);
  });

  const cases: [string, () => Resource[], RegExp][] = [
    ["a probe on the TLS port", () => broken("Deployment", "funnel-sentiment", (d) => (server(d).livenessProbe.grpc.port = 50051)), /funnel-sentiment container server: livenessProbe checks port 50051, not the plaintext health port 50052/],
    ["a pod without the TLS Secret", () => broken("Deployment", "funnel-embedding", (d) => (d.spec.template.spec.volumes = d.spec.template.spec.volumes.filter((v: any) => v.secret?.secretName !== "funnel-tls"))), /funnel-embedding: must mount Secret funnel-tls/],
    ["the callers Secret mounted by subPath", () => broken("Deployment", "funnel-router", (d) => (server(d).volumeMounts.find((m: any) => m.name === "callers").subPath = "callers.yaml")), /funnel-router: must mount Secret funnel-callers as a directory/],
    [
      "plaintext gRPC",
      () => {
        const copy = structuredClone(good);
        delete (copy.find((r) => r.kind === "ConfigMap" && r.metadata.name.startsWith("funnel-service-config")) as any).data.FUNNEL_TLS_CERT_FILE;
        return copy;
      },
      /FUNNEL_TLS_CERT_FILE is ""; every gRPC port must serve TLS and check callers/,
    ],
    ["a missing readiness probe", () => broken("Deployment", "funnel-embedding", (d) => delete server(d).readinessProbe), /funnel-embedding container server: readinessProbe is missing/],
    ["a liveness probe that follows readiness", () => broken("Deployment", "funnel-similarity", (d) => delete server(d).livenessProbe.grpc.service), /funnel-similarity container server: livenessProbe must ask the "liveness" health service/],
    ["an HTTP probe instead of gRPC", () => broken("Deployment", "funnel-router", (d) => (server(d).livenessProbe = { tcpSocket: { port: 50051 } })), /livenessProbe is missing or not a native gRPC probe/],
    ["a readiness probe that names no service", () => broken("Deployment", "funnel-similarity", (d) => delete server(d).readinessProbe.grpc.service), /must name the funnel.v1 service/],
    ["a missing memory limit", () => broken("Deployment", "funnel-sentiment", (d) => delete server(d).resources.limits.memory), /resources.limits.memory is not set/],
    ["a latest tag", () => broken("Deployment", "funnel-router", (d) => (server(d).image = "ghcr.io/funnel-ml/router:latest")), /uses the latest tag/],
    ["an untagged image", () => broken("Deployment", "funnel-router", (d) => (server(d).image = "ghcr.io/funnel-ml/router")), /has no tag/],
    ["root", () => broken("Deployment", "funnel-embedding", (d) => (d.spec.template.spec.securityContext.runAsNonRoot = false)), /runAsNonRoot must be true/],
    ["a writable root filesystem", () => broken("Deployment", "funnel-embedding", (d) => (server(d).securityContext.readOnlyRootFilesystem = false)), /readOnlyRootFilesystem must be true/],
    ["privilege escalation", () => broken("Deployment", "funnel-embedding", (d) => delete server(d).securityContext.allowPrivilegeEscalation), /allowPrivilegeEscalation must be false/],
    ["kept capabilities", () => broken("Deployment", "funnel-embedding", (d) => (server(d).securityContext.capabilities.drop = ["NET_RAW"])), /drop must include ALL/],
    ["a Deployment without an HPA", () => good.filter((r) => !(r.kind === "HorizontalPodAutoscaler" && r.metadata.name === "funnel-recommendation")), /funnel-recommendation: needs exactly one HorizontalPodAutoscaler, has 0/],
    ["a Deployment without a PDB", () => good.filter((r) => !(r.kind === "PodDisruptionBudget" && r.metadata.name === "funnel-sentiment")), /funnel-sentiment: needs exactly one PodDisruptionBudget/],
    ["a ClusterIP in front of client-balanced pods", () => broken("Service", "funnel-embedding", (s) => delete s.spec.clusterIP), /must be headless/],
    ["an unpinned model version", () => broken("Deployment", "funnel-embedding", (d) => (server(d).env.find((e: any) => e.name === "FUNNEL_EMBEDDING_MODEL_REF").value = "production")), /FUNNEL_EMBEDDING_MODEL_REF must pin a version number/],
    ["a version under another service's setting", () => broken("Deployment", "funnel-similarity", (d) => (server(d).env.find((e: any) => e.name === "FUNNEL_SIMILARITY_MODEL_REF").name = "FUNNEL_MODEL_VERSION")), /FUNNEL_SIMILARITY_MODEL_REF must pin a version number/],
    ["a literal pseudonym salt", () => broken("Deployment", "funnel-recommendation", (d) => (server(d).env.find((e: any) => e.name === "FUNNEL_PSEUDONYM_SALT").valueFrom = undefined)), /funnel-recommendation: FUNNEL_PSEUDONYM_SALT must come from a Secret/],
    ["replicas next to an HPA", () => broken("Deployment", "funnel-router", (d) => (d.spec.replicas = 3)), /sets replicas/],
    ["missing scrape annotations", () => broken("Deployment", "funnel-router", (d) => delete d.spec.template.metadata.annotations), /prometheus.io\/scrape/],
    ["a router upstream with no Service", () => broken("ConfigMap", "funnel-router-experiments", (c) => (c.data["experiments.yaml"] = c.data["experiments.yaml"].replace("funnel-embedding:", "funnel-embeding:"))), /upstream funnel-embeding is not a Service/],
    ["a spread constraint that selects no pods of its own", () => broken("Deployment", "funnel-router", (d) => delete d.spec.template.metadata.labels["app.kubernetes.io/part-of"]), /topologySpreadConstraint's labelSelector does not select its own pods/],
    ["a retrain CronJob allowed to run twice at once", () => broken("CronJob", "funnel-retrain", (c) => (c.spec.concurrencyPolicy = "Allow")), /CronJob funnel-retrain: concurrencyPolicy must be Forbid/],
    ["a retrain Job that retries a refused candidate", () => broken("CronJob", "funnel-retrain", (c) => (c.spec.jobTemplate.spec.backoffLimit = 6)), /CronJob funnel-retrain: backoffLimit must be 0/],
    ["a retrain container with a writable root filesystem", () => broken("CronJob", "funnel-retrain", (c) => (c.spec.jobTemplate.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false)), /CronJob funnel-retrain container retrain: securityContext.readOnlyRootFilesystem must be true/],
    ["a retrain image on latest", () => broken("CronJob", "funnel-retrain", (c) => (c.spec.jobTemplate.spec.template.spec.containers[0].image = "ghcr.io/funnel-ml/training:latest")), /CronJob funnel-retrain container retrain: image .* uses the latest tag/],
    ["a retrain salt written in the manifest", () => broken("CronJob", "funnel-retrain", (c) => (c.spec.jobTemplate.spec.template.spec.containers[0].env[0] = { name: "FUNNEL_PSEUDONYM_SALT", value: "oops" })), /CronJob funnel-retrain: FUNNEL_PSEUDONYM_SALT must come from a Secret/],
    ["a served log on the read-only root filesystem", () => broken("Deployment", "funnel-recommendation", (d) => (server(d).volumeMounts = server(d).volumeMounts.filter((m: any) => m.name !== "served-log"))), /funnel-recommendation: FUNNEL_RECOMMENDATION_SERVED_LOG_DIR \/var\/log\/funnel\/served-recommendations is not a mounted volume/],
    ["a served log on an emptyDir", () => broken("Deployment", "funnel-recommendation", (d) => (d.spec.template.spec.volumes = d.spec.template.spec.volumes.map((v: any) => (v.name === "served-log" ? { name: v.name, emptyDir: {} } : v)))), /funnel-recommendation: the served log at .* must be on a PersistentVolumeClaim/],
    ["replicas sharing one served-log directory", () => broken("Deployment", "funnel-recommendation", (d) => delete server(d).volumeMounts.find((m: any) => m.name === "served-log").subPathExpr), /funnel-recommendation: the served log at .* must be mounted with subPathExpr \$\(POD_NAME\)/],
    ["a served-log subdirectory not named after the pod", () => broken("Deployment", "funnel-recommendation", (d) => (server(d).env.find((e: any) => e.name === "POD_NAME").valueFrom.fieldRef.fieldPath = "spec.nodeName")), /must be mounted with subPathExpr \$\(POD_NAME\)/],
    ["an outcome join reading another claim", () => broken("CronJob", "funnel-outcomes", (c) => (c.spec.jobTemplate.spec.template.spec.volumes.find((v: any) => v.name === "served-log").persistentVolumeClaim.claimName = "funnel-events")), /CronJob funnel-outcomes: --served \/data\/served is not on the claim the Recommendation pods write \(funnel-served-log\)/],
    ["an outcome join that pushes nowhere", () => broken("CronJob", "funnel-outcomes", (c) => (c.spec.jobTemplate.spec.template.spec.containers[0].args = c.spec.jobTemplate.spec.template.spec.containers[0].args.filter((a: string) => !a.startsWith("--push")))), /CronJob funnel-outcomes: must push its gauges with --push-gateway/],
    ["a served log and no outcome join", () => good.filter((r) => !(r.kind === "CronJob" && r.metadata.name === "funnel-outcomes")), /FUNNEL_RECOMMENDATION_SERVED_LOG_DIR is set but no CronJob runs outcomes/],
    ["an outcomes init container running privileged", () => broken("CronJob", "funnel-outcomes", (c) => (c.spec.jobTemplate.spec.template.spec.initContainers[0].securityContext.privileged = true)), /CronJob funnel-outcomes init container served-log-retention: must not be privileged/],
    ["an outcome join retried on an alert", () => broken("CronJob", "funnel-outcomes", (c) => (c.spec.jobTemplate.spec.backoffLimit = 3)), /CronJob funnel-outcomes: backoffLimit must be 0/],
    ["an object in another namespace", () => broken("Service", "mlflow", (s) => (s.metadata.namespace = "default")), /Service mlflow: namespace default, expected funnel/],
  ];
  for (const [what, make, expected] of cases) {
    it(what, () => {
      const problems = manifestViolations(make(), { namespace: "funnel" });
      expect(problems.some((p) => expected.test(p)), problems.join("\n")).toBe(true);
    });
  }
});

describe("validateResource", () => {
  it("rejects a wrong type and a kind it has no schema for", () => {
    const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" }, spec: { selector: {}, template: { spec: { containers: [{ name: "a", image: "b:1", imagePullPolicy: "Sometimes" }] } } } };
    expect(() => validateResource(deployment)).toThrow(/Deployment x: .*imagePullPolicy/);
    expect(() => validateResource({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "c" } })).toThrow(/no schema for this kind/);
    // CronJob has one (the retrain schedule): a bad schedule type is caught like any other field.
    expect(() => validateResource({ apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "c" }, spec: { schedule: 3, jobTemplate: { spec: { template: { spec: { containers: [] } } } } } })).toThrow(/CronJob c: .*schedule/);
  });
});
