// Renders every overlay (and the canary on its own) with kubectl's kustomize and checks that each FUNNEL_*
// variable the manifests set is declared by the process that reads it; then renders an overlay with one
// misspelt variable and sees the check break on it. Skips without kubectl locally, fails in CI (manifests.test).
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { undeclaredEnvViolations } from "./declared-env.js";
import { findKubectl, renderOverlay } from "./render-overlay.js";

const k8sRoot = fileURLToPath(new URL("..", import.meta.url));
const overlays = readdirSync(path.join(k8sRoot, "overlays")).map((name) => path.join("overlays", name));
const kubectl = findKubectl();

/** Renders `base` (a directory under k8s/) with one extra JSON patch, from a throw-away kustomization. */
function renderPatched(base: string, target: { kind: string; name: string }, patch: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "funnel-env-overlay-"));
  try {
    // kustomize takes no absolute resource paths: a relative one from the temporary directory.
    const resource = path.relative(dir, path.join(k8sRoot, base));
    writeFileSync(
      path.join(dir, "kustomization.yaml"),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${resource}\npatches:\n  - target:\n      kind: ${target.kind}\n      name: ${target.name}\n    patch: |-\n${patch.replace(/^/gm, "      ")}\n`,
    );
    return renderOverlay(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!kubectl)("FUNNEL_* variables in the manifests", () => {
  it.each([...overlays, "canary"])("%s sets only variables its processes declare", (dir) => {
    const resources = renderOverlay(path.join(k8sRoot, dir));
    // The check saw the workloads at all (a rename of the kinds it reads would otherwise pass vacuously).
    expect(resources.some((r) => r.kind === "Deployment")).toBe(true);
    expect(undeclaredEnvViolations(resources)).toEqual([]);
  }, 60_000);

  it("breaks on a misspelt variable in a Deployment, naming the process and the declared name", () => {
    const resources = renderPatched(
      "overlays/prod",
      { kind: "Deployment", name: "funnel-similarity" },
      `- op: add\n  path: /spec/template/spec/containers/0/env/-\n  value: {name: FUNNEL_MILVUS_ADRESS, value: "milvus:19530"}`,
    );
    expect(undeclaredEnvViolations(resources)).toEqual([
      "Deployment funnel-similarity, container server: FUNNEL_MILVUS_ADRESS is not read by the similarity process (did you mean FUNNEL_MILVUS_ADDRESS?)",
    ]);
  }, 60_000);

  it("breaks on a variable in the shared ConfigMap that one of its readers does not declare", () => {
    // The router reads no Milvus settings: the shared service config must not carry a service's own ones.
    const resources = renderPatched(
      "overlays/dev",
      { kind: "ConfigMap", name: "funnel-service-config" },
      `- op: add\n  path: /data/FUNNEL_SIMILARITY_MAX_UPSERTS\n  value: "10"`,
    );
    const problems = undeclaredEnvViolations(resources);
    expect(problems).toContainEqual(expect.stringMatching(/^Deployment funnel-router, container server: FUNNEL_SIMILARITY_MAX_UPSERTS is not read by the router process/));
    expect(problems.some((line) => line.startsWith("Deployment funnel-similarity"))).toBe(false);
  }, 60_000);

  it("checks the jobs against every declared setting", () => {
    const resources = renderPatched(
      "overlays/prod",
      { kind: "CronJob", name: "funnel-retrain" },
      `- op: add\n  path: /spec/jobTemplate/spec/template/spec/containers/0/env/-\n  value: {name: FUNNEL_REGISTRY_ACTR, value: x}`,
    );
    expect(undeclaredEnvViolations(resources)).toEqual([
      "CronJob funnel-retrain, container retrain: FUNNEL_REGISTRY_ACTR is not read by any Funnel process (did you mean FUNNEL_REGISTRY_ACTOR?)",
    ]);
  }, 60_000);
});
