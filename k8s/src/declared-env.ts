// Every FUNNEL_* variable a manifest sets must be a setting the code declares. A serving process refuses at
// start-up a FUNNEL_* variable it does not read (runServices), so a Deployment is checked against the one
// process its image runs; a misspelt name (FUNNEL_MILVUS_ADRESS) fails here, before a rollout crash-loops.
// The batch jobs run the training CLI, which reads only a few variables and ignores the serving ones the
// shared ConfigMap also gives them: those are checked against every setting any Funnel process declares.
import { embeddingModule } from "@funnel/embedding";
import { recommendationModule } from "@funnel/recommendation";
import { routerModule } from "@funnel/router";
import { distinctSettings, settingsOf, undeclaredEnv, type ServiceModule, type SettingsSpec } from "@funnel/runtime";
import { sentimentModule } from "@funnel/sentiment";
import { similarityModule } from "@funnel/similarity";
import type { Resource } from "./render-overlay.js";

const PREFIX = "FUNNEL_";

/** The process each service image runs (Dockerfile: SERVICE=<name> runs services/<name>/src/main.ts). */
const SERVICE_MODULES: Readonly<Record<string, ServiceModule<any>>> = {
  embedding: embeddingModule,
  similarity: similarityModule,
  recommendation: recommendationModule,
  sentiment: sentimentModule,
  router: routerModule,
};

/** Every setting of every process (the jobs' check): the union of each service's settings tree. */
function everySetting(): SettingsSpec {
  return Object.fromEntries(Object.entries(SERVICE_MODULES).map(([name, module]) => [name, settingsOf([module])]));
}

interface EnvSource {
  name: string;
  value?: string;
}
interface Container {
  name: string;
  image?: string;
  env?: EnvSource[];
  envFrom?: { configMapRef?: { name: string }; prefix?: string }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
}

function podSpecOf(resource: Resource): PodSpec | undefined {
  const spec = resource.spec as any;
  if (resource.kind === "Deployment") return spec?.template?.spec;
  if (resource.kind === "CronJob") return spec?.jobTemplate?.spec?.template?.spec;
  if (resource.kind === "Job") return spec?.template?.spec;
  return undefined;
}

/** The service an image runs, from its repository's last path segment (ghcr.io/funnel-ml/similarity:1.2). */
function serviceOf(image: string | undefined): string | undefined {
  const repository = (image ?? "").split("@")[0]!.replace(/:[^/:]+$/, "");
  return repository.slice(repository.lastIndexOf("/") + 1) || undefined;
}

/**
 * One line per FUNNEL_* variable a rendered workload sets (env or a ConfigMap's keys through envFrom) that the
 * process it runs does not declare, naming the nearest declared variable.
 */
export function undeclaredEnvViolations(resources: readonly Resource[]): string[] {
  const configMaps = new Map(resources.filter((r) => r.kind === "ConfigMap").map((r) => [r.metadata.name, Object.keys((r as any).data ?? {})]));
  const catalogue = distinctSettings(everySetting());
  const problems: string[] = [];
  for (const resource of resources) {
    const pod = podSpecOf(resource);
    if (!pod) continue;
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      const names = (container.env ?? []).map((e) => e.name);
      for (const source of container.envFrom ?? []) {
        if (!source.configMapRef) continue;
        const keys = configMaps.get(source.configMapRef.name);
        if (!keys) continue; // a ConfigMap made outside the overlay: nothing to read here
        names.push(...keys.map((key) => `${source.prefix ?? ""}${key}`));
      }
      const service = serviceOf(container.image);
      const module = service ? SERVICE_MODULES[service] : undefined;
      const declared = module ? distinctSettings(settingsOf([module])) : catalogue;
      const reader = module ? `the ${service} process` : "any Funnel process";
      for (const { name, nearest } of undeclaredEnv(declared, names, PREFIX)) {
        problems.push(`${resource.kind} ${resource.metadata.name}, container ${container.name}: ${name} is not read by ${reader}${nearest ? ` (did you mean ${nearest}?)` : ""}`);
      }
    }
  }
  return problems;
}
