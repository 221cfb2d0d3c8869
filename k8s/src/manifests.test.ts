// Renders every overlay with kubectl's kustomize, validates each object against the Kubernetes schemas, and
// holds each overlay to the invariants in manifest-violations.ts. Without kubectl the suite skips locally but
// fails in CI (CI=true), so a missing tool can never turn the check green.
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { manifestViolations } from "./manifest-violations.js";
import { findKubectl, renderOverlay, type Resource } from "./render-overlay.js";
import { validateResource } from "./validate-resource.js";

const k8sRoot = fileURLToPath(new URL("..", import.meta.url));
const overlaysDir = path.join(k8sRoot, "overlays");
const overlays = readdirSync(overlaysDir).sort();
const NAMESPACES: Record<string, string> = { dev: "funnel-dev", prod: "funnel", "prod-canary": "funnel" };

const kubectl = findKubectl();
const inCi = process.env.CI === "true" || process.env.CI === "1";
if (!kubectl && !inCi) console.warn("kubectl not found on PATH: skipping the manifest render tests (they fail in CI)");

describe("kubectl", () => {
  it.runIf(inCi)("is installed where CI runs", () => {
    expect(kubectl, "kubectl must be on PATH in CI to render the overlays").toBeDefined();
  });
});

describe.skipIf(!kubectl)("k8s overlays", () => {
  const rendered = new Map<string, Resource[] | Error>();
  // Rendering takes a second or more per overlay (longer on a busy CI machine): once, up front.
  beforeAll(() => {
    for (const overlay of overlays) {
      try {
        rendered.set(overlay, renderOverlay(path.join(overlaysDir, overlay)));
      } catch (error) {
        rendered.set(overlay, error as Error);
      }
    }
  }, 120_000);
  const render = (overlay: string): Resource[] => {
    const result = rendered.get(overlay);
    if (result instanceof Error) throw result;
    return result!;
  };

  it("are dev, prod and prod-canary, each with its namespace", () => {
    expect(overlays).toEqual(Object.keys(NAMESPACES).sort());
  });

  for (const overlay of overlays) {
    describe(overlay, () => {
      it("renders with kubectl kustomize", () => {
        const resources = render(overlay);
        expect(resources.length).toBeGreaterThan(20);
      });

      it("every object validates against its Kubernetes schema", () => {
        const errors: string[] = [];
        for (const resource of render(overlay)) {
          try {
            validateResource(resource);
          } catch (error) {
            errors.push((error as Error).message);
          }
        }
        expect(errors).toEqual([]);
      });

      it("keeps every invariant (probes, limits, pinned images, non-root, PDB + HPA, headless Services, upstreams)", () => {
        expect(manifestViolations(render(overlay), { namespace: NAMESPACES[overlay]! })).toEqual([]);
      });

      it("has a Deployment, headless Service, HPA and PDB for each service and the router", () => {
        const names = (kind: string) => render(overlay).filter((r) => r.kind === kind).map((r) => r.metadata.name);
        for (const service of ["sentiment", "embedding", "similarity", "recommendation", "router"]) {
          for (const kind of ["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"]) {
            expect(names(kind), `${kind} funnel-${service}`).toContain(`funnel-${service}`);
          }
        }
      });
    });
  }

  it("every overlay schedules the gated retrain, which reaches MLflow and nothing else", () => {
    for (const overlay of overlays) {
      const cronJob = render(overlay).find((r) => r.kind === "CronJob" && r.metadata.name === "funnel-retrain") as any;
      expect(cronJob, overlay).toBeDefined();
      const container = cronJob.spec.jobTemplate.spec.template.spec.containers[0];
      expect(container.args.slice(0, 3)).toEqual(["retrain", "--data", "/data/events"]);
      expect(container.envFrom[0].configMapRef.name).toMatch(/^funnel-service-config-[a-z0-9]{10}$/);
      const egress = render(overlay).find((r) => r.kind === "NetworkPolicy" && r.metadata.name === "funnel-retrain-egress") as any;
      expect(egress.spec.podSelector.matchLabels).toEqual({ "app.kubernetes.io/component": "retrain" });
      expect(egress.spec.egress.flatMap((e: any) => e.ports.map((p: any) => p.port))).toEqual([5000]);
    }
  });

  it("every overlay runs the outcome join hourly over the served log, pushing to the Pushgateway, reaching MLflow and the gateway only", () => {
    for (const overlay of overlays) {
      const resources = render(overlay);
      const cronJob = resources.find((r) => r.kind === "CronJob" && r.metadata.name === "funnel-outcomes") as any;
      expect(cronJob, overlay).toBeDefined();
      expect(cronJob.spec.schedule).toMatch(/^\d+ \* \* \* \*$/);
      const pod = cronJob.spec.jobTemplate.spec.template.spec;
      const container = pod.containers[0];
      expect(container.args.slice(0, 3)).toEqual(["outcomes", "--served", "/data/served"]);
      expect(container.args).toEqual(expect.arrayContaining(["--events", "/data/events", "--push-gateway", "http://pushgateway:9091", "namespace=$(POD_NAMESPACE)"]));
      expect(container.env.find((e: any) => e.name === "POD_NAMESPACE").valueFrom.fieldRef.fieldPath).toBe("metadata.namespace");
      expect(container.volumeMounts.every((m: any) => m.readOnly || m.mountPath === "/tmp")).toBe(true);
      const gateway = resources.find((r) => r.kind === "Service" && r.metadata.name === "pushgateway") as any;
      expect(gateway.spec.ports[0].port).toBe(9091);
      const claim = resources.find((r) => r.kind === "PersistentVolumeClaim" && r.metadata.name === "funnel-served-log") as any;
      expect(claim.spec.accessModes).toEqual(["ReadWriteMany"]);
      const egress = resources.find((r) => r.kind === "NetworkPolicy" && r.metadata.name === "funnel-outcomes-egress") as any;
      expect(egress.spec.podSelector.matchLabels).toEqual({ "app.kubernetes.io/component": "outcomes" });
      expect(egress.spec.egress.flatMap((e: any) => e.ports.map((p: any) => p.port))).toEqual([5000, 9091]);
      const recommendation = resources.find((r) => r.kind === "Deployment" && r.metadata.name === "funnel-recommendation") as any;
      expect(recommendation.spec.template.spec.containers[0].env).toContainEqual({ name: "FUNNEL_RECOMMENDATION_SERVED_LOG_DIR", value: "/var/log/funnel/served-recommendations" });
    }
  });

  it("prod and prod-canary reach MLflow over HTTPS with a token, mounted in every workload that reads the settings (the retrain job too)", () => {
    for (const overlay of ["prod", "prod-canary"]) {
      const resources = render(overlay);
      const config = resources.find((r) => r.kind === "ConfigMap" && r.metadata.name.startsWith("funnel-service-config")) as any;
      expect(config.data.MLFLOW_TRACKING_URI, overlay).toMatch(/^https:\/\//);
      const files = [config.data.MLFLOW_TRACKING_TOKEN_FILE, config.data.MLFLOW_TRACKING_SERVER_CERT_PATH];
      expect(files.every(Boolean), overlay).toBe(true);
      const workloads = resources.filter((r) => r.kind === "Deployment" || r.kind === "CronJob") as any[];
      expect(workloads.map((w) => w.metadata.name)).toEqual(expect.arrayContaining(["funnel-retrain", "funnel-outcomes", "funnel-similarity"]));
      for (const workload of workloads) {
        const pod = workload.kind === "Deployment" ? workload.spec.template.spec : workload.spec.jobTemplate.spec.template.spec;
        for (const container of pod.containers.filter((c: any) => (c.envFrom ?? []).some((e: any) => e.configMapRef?.name === config.metadata.name))) {
          for (const file of files) {
            const mount = (container.volumeMounts ?? []).find((m: any) => file.startsWith(`${m.mountPath}/`));
            expect(mount, `${overlay} ${workload.metadata.name}/${container.name}: ${file} is not mounted`).toBeDefined();
            const volume = pod.volumes.find((v: any) => v.name === mount.name);
            expect(volume.secret?.secretName, `${workload.metadata.name}: ${file}`).toBe("funnel-mlflow-credentials");
          }
        }
      }
    }
    // dev keeps plain http (a development cluster's MLflow), which this test would catch in prod.
    const dev = render("dev").find((r) => r.kind === "ConfigMap" && r.metadata.name.startsWith("funnel-service-config")) as any;
    expect(dev.data.MLFLOW_TRACKING_URI).toMatch(/^http:\/\//);
  });

  it("the Jobs a CronJob makes carry the name label the runbook selects them by", () => {
    for (const overlay of overlays) {
      for (const cronJob of render(overlay).filter((r) => r.kind === "CronJob") as any[]) {
        // k8s/README.md: `kubectl get jobs -l app.kubernetes.io/name=<cronjob name>`.
        expect(cronJob.spec.jobTemplate.metadata?.labels?.["app.kubernetes.io/name"], `${overlay} ${cronJob.metadata.name}`).toBe(cronJob.metadata.name);
      }
    }
  });

  it("prod-canary adds the candidate next to prod: other version, own pods, 90/10 split", () => {
    const prod = render("prod");
    const canary = render("prod-canary");
    const deployment = (resources: Resource[], name: string) => resources.find((r) => r.kind === "Deployment" && r.metadata.name === name) as any;
    for (const service of ["embedding", "similarity", "recommendation"]) {
      const stable = deployment(canary, `funnel-${service}`);
      const candidate = deployment(canary, `funnel-${service}-canary`);
      expect(stable).toEqual(deployment(prod, `funnel-${service}`));
      const version = (d: any) => d.spec.template.spec.containers[0].env.find((e: any) => e.name === `FUNNEL_${service.toUpperCase()}_MODEL_REF`).value;
      expect(version(candidate)).not.toBe(version(stable));
      expect(candidate.spec.selector.matchLabels["funnel.ml/track"]).toBe("canary");
      expect(stable.spec.selector.matchLabels["funnel.ml/track"]).toBe("stable");
    }
    const experiments = canary.find((r) => r.kind === "ConfigMap" && r.metadata.name === "funnel-router-experiments") as any;
    expect(experiments.data["experiments.yaml"]).toMatch(/weight: 90[\s\S]*weight: 10/);
  });

  it("the hot-reloaded experiments ConfigMap keeps a fixed name; the service config is hashed so changes roll pods", () => {
    const names = render("prod").filter((r) => r.kind === "ConfigMap").map((r) => r.metadata.name);
    expect(names).toContain("funnel-router-experiments");
    expect(names.some((n) => /^funnel-service-config-[a-z0-9]{10}$/.test(n))).toBe(true);
  });
});
