// The runbook in k8s/README.md, checked command by command against the rendered objects (prod-canary: prod
// plus the canary, everything the runbook touches): every deploy/, svc/ and cronjob/ it names exists, every
// label selector selects something of the kinds it lists, every `set env` names a variable the Deployment
// sets, every experiment it asks the router about is in the experiment file, and every port-forward port is
// one the Service serves. A renamed object or label breaks this test instead of an operator's night.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { findKubectl, renderOverlay, type Resource } from "./render-overlay.js";

const k8sRoot = fileURLToPath(new URL("..", import.meta.url));
const readme = readFileSync(path.join(k8sRoot, "README.md"), "utf8");
/** Shell lines of the README's ```sh blocks, continuation lines joined. */
const commands = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((block) => block[1]!.replace(/\\\n\s*/g, " ").split("\n").map((line) => line.trim()).filter(Boolean));

let objects: Resource[];
beforeAll(() => {
  if (findKubectl()) objects = renderOverlay(path.join(k8sRoot, "overlays", "prod-canary"));
}, 60_000);

const KINDS: Record<string, string> = { deploy: "Deployment", svc: "Service", cronjob: "CronJob", hpa: "HorizontalPodAutoscaler", pdb: "PodDisruptionBudget" };
const named = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name) as any;
const labelsOf = (o: any, kind: string): Record<string, string> | undefined =>
  kind === "pods" ? (o.spec?.template?.metadata?.labels ?? o.spec?.jobTemplate?.spec?.template?.metadata?.labels) : kind === "jobs" ? o.spec?.jobTemplate?.metadata?.labels : o.metadata.labels;

describe.skipIf(!findKubectl())("k8s/README.md runbook against the rendered prod-canary overlay", () => {
  it("names only objects that exist", () => {
    // Objects of the application namespace (the Pushgateway lives in `monitoring`, outside these manifests).
    const references = commands.filter((line) => !/ -n (?!funnel\b)/.test(line)).flatMap((line) => [...line.matchAll(/\b(deploy|svc|cronjob)\/([a-z0-9-]+)/g)].map((m) => [m[1]!, m[2]!] as const));
    expect(references.length).toBeGreaterThan(20);
    const missing = references.filter(([kind, name]) => !named(KINDS[kind]!, name)).map(([kind, name]) => `${kind}/${name}`);
    expect(missing).toEqual([]);
  });

  it("selects something with every label selector, of the kinds the command lists", () => {
    const selections = commands.flatMap((line) => {
      const match = /kubectl -n funnel (?:get|delete) ([a-z,]+) -l ([\w./-]+)=([\w.-]+)/.exec(line);
      return match ? [{ line, kinds: match[1]!.split(","), key: match[2]!, value: match[3]! }] : [];
    });
    expect(selections.length).toBeGreaterThanOrEqual(5);
    for (const { line, kinds, key, value } of selections) {
      for (const kind of kinds) {
        // Pods come from pod templates, Jobs from a CronJob's job template.
        const candidates = kind === "pods" ? objects.filter((o) => o.kind === "Deployment") : kind === "jobs" ? objects.filter((o) => o.kind === "CronJob") : objects.filter((o) => o.kind === KINDS[kind]);
        expect(candidates.some((o) => labelsOf(o, kind)?.[key] === value), `${line}: no ${kind} with ${key}=${value}`).toBe(true);
      }
    }
  });

  it("sets with `set env` only variables the Deployment already pins", () => {
    const sets = commands.flatMap((line) => [...line.matchAll(/set env deploy\/([a-z0-9-]+) (\w+)=/g)].map((m) => [m[1]!, m[2]!] as const));
    expect(sets.length).toBe(3);
    for (const [deployment, variable] of sets) {
      expect(named("Deployment", deployment).spec.template.spec.containers[0].env.map((e: any) => e.name), deployment).toContain(variable);
    }
  });

  it("asks the router about experiments its file has, through ports its Service serves", () => {
    const experiments = parse(named("ConfigMap", "funnel-router-experiments").data["experiments.yaml"]).experiments.map((e: any) => e.name);
    const asked = commands.flatMap((line) => [...line.matchAll(/"experiment":"([\w-]+)"/g)].map((m) => m[1]!));
    expect(asked.length).toBeGreaterThan(0);
    for (const name of asked) expect(experiments).toContain(name);
    for (const line of commands.filter((l) => l.includes("kubectl -n funnel port-forward svc/"))) {
      const [, service, port] = /port-forward svc\/([a-z0-9-]+) (?:\d+:)?(\d+)/.exec(line)!;
      expect(named("Service", service!).spec.ports.map((p: any) => String(p.port)), line).toContain(port);
    }
  });

  it("calls the router over TLS with a token, never plaintext", () => {
    const grpcCalls = commands.filter((line) => /\b(grpcurl|router) .*funnel\.v1\./.test(line));
    expect(grpcCalls.length).toBeGreaterThan(0);
    expect(commands.filter((line) => line.includes("grpcurl -plaintext"))).toEqual([]);
    expect(commands.some((line) => /grpcurl -cacert ca\.crt -servername funnel-router .*authorization: Bearer/.test(line))).toBe(true);
    for (const line of commands.filter((l) => /npm run (rollout|loadtest) /.test(l))) expect(line).toMatch(/--ca-file ca\.crt .*--token-file /);
  });
});
