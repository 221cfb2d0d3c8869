// The rules every rendered overlay must keep, as one pure check over its objects: what schema validation
// cannot see (probes, limits, pinned images, non-root, a PDB and HPA per Deployment, headless Services for
// client-balanced gRPC, router upstreams that exist). Returns one readable line per violation.
import { LIVENESS_SERVICE } from "@funnel/runtime";
import { parse } from "yaml";
import type { Resource } from "./render-overlay.js";

interface Probe {
  grpc?: { port?: number; service?: string };
}

interface Container {
  name: string;
  image?: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string; subPathExpr?: string; readOnly?: boolean }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[] };
  };
}

interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    initContainers?: Container[];
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
    volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string }; persistentVolumeClaim?: { claimName: string }; emptyDir?: object }[];
    topologySpreadConstraints?: { labelSelector?: { matchLabels?: Record<string, string> } }[];
  };
}

type Deployment = Resource & { spec: { replicas?: number; selector: { matchLabels?: Record<string, string> }; template: PodTemplate } };
type Service = Resource & { spec: { type?: string; clusterIP?: string; selector?: Record<string, string> } };
type Hpa = Resource & { spec: { scaleTargetRef: { kind: string; name: string } } };
type Pdb = Resource & { spec: { selector?: { matchLabels?: Record<string, string> } } };
type ConfigMap = Resource & { data?: Record<string, string> };
type CronJob = Resource & { spec: { concurrencyPolicy?: string; jobTemplate: { spec: { backoffLimit?: number; template: PodTemplate } } } };

export const GRPC_PORT = 50051;
export const METRICS_PORT = 9464;
/** Plaintext grpc.health.v1 only (FUNNEL_HEALTH_PORT): kubelet gRPC probes cannot speak TLS. */
export const HEALTH_PORT = 50052;
/** Secrets every funnel pod mounts: its TLS certificate and the callers file (README "Security"). */
const SECURITY_SECRETS = ["funnel-tls", "funnel-callers"];
/** What the shared service config must set so that every gRPC port serves TLS and checks callers. */
const SECURITY_CONFIG: Readonly<Record<string, (value: string | undefined) => boolean>> = {
  FUNNEL_TLS_CERT_FILE: (value) => Boolean(value),
  FUNNEL_TLS_KEY_FILE: (value) => Boolean(value),
  FUNNEL_AUTH: (value) => value === "true",
  FUNNEL_AUTH_CALLERS_FILE: (value) => Boolean(value),
  FUNNEL_HEALTH_PORT: (value) => value === String(HEALTH_PORT),
};
/** Model services are called by the router, which balances per call over every pod address. */
const CLIENT_BALANCED_COMPONENT = "model-service";
const EXPERIMENTS_CONFIG_MAP = "funnel-router-experiments";

const TWO_TOWER_SERVICES = new Set(["funnel-embedding", "funnel-similarity", "funnel-recommendation"]);
/** The Recommendation service's served-recommendation log directory (read by the outcomes CronJob). */
const SERVED_LOG_ENV = "FUNNEL_RECOMMENDATION_SERVED_LOG_DIR";
const RECOMMENDATION = "funnel-recommendation";

/**
 * The setting that pins each model service's version (settings are namespaced per service), by Deployment
 * name without the -canary suffix. A number pins a version; an alias would move under a running Deployment.
 */
export const MODEL_REF_ENV: Readonly<Record<string, string>> = {
  "funnel-embedding": "FUNNEL_EMBEDDING_MODEL_REF",
  "funnel-similarity": "FUNNEL_SIMILARITY_MODEL_REF",
  "funnel-recommendation": "FUNNEL_RECOMMENDATION_MODEL_REF",
  "funnel-sentiment": "FUNNEL_SENTIMENT_TRANSFORMER_REF",
};

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

function of<T extends Resource>(resources: Resource[], kind: string): T[] {
  return resources.filter((r) => r.kind === kind) as T[];
}

/** What every container must have, server or batch job: a pinned image, requests and limits, no privilege. */
function containerHardeningViolations(at: string, container: Container): string[] {
  const problems: string[] = [];
  const image = container.image ?? "";
  const tag = image.includes("@") ? "digest" : image.slice(image.lastIndexOf("/") + 1).split(":")[1];
  if (!tag) problems.push(`${at}: image ${image} has no tag (pin a version or digest)`);
  else if (tag === "latest") problems.push(`${at}: image ${image} uses the latest tag (pin a version or digest)`);

  for (const kind of ["requests", "limits"] as const) {
    for (const resource of ["cpu", "memory"]) {
      if (!container.resources?.[kind]?.[resource]) problems.push(`${at}: resources.${kind}.${resource} is not set`);
    }
  }

  const sc = container.securityContext;
  if (sc?.allowPrivilegeEscalation !== false) problems.push(`${at}: securityContext.allowPrivilegeEscalation must be false`);
  if (sc?.readOnlyRootFilesystem !== true) problems.push(`${at}: securityContext.readOnlyRootFilesystem must be true`);
  if (sc?.privileged === true) problems.push(`${at}: must not be privileged`);
  if (!sc?.capabilities?.drop?.includes("ALL")) problems.push(`${at}: securityContext.capabilities.drop must include ALL`);
  return problems;
}

function containerViolations(where: string, container: Container, readinessService: "named" | "any"): string[] {
  const at = `${where} container ${container.name}`;
  const problems = containerHardeningViolations(at, container);

  for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"] as const) {
    const grpc = container[probe]?.grpc;
    if (!grpc) problems.push(`${at}: ${probe} is missing or not a native gRPC probe`);
    else if (grpc.port !== HEALTH_PORT) problems.push(`${at}: ${probe} checks port ${grpc.port}, not the plaintext health port ${HEALTH_PORT} (the gRPC port serves TLS)`);
  }
  // Liveness asks the process only: a probe on readiness ("" or a service name) restarts every pod while a
  // dependency (Milvus, the registry) is down, and a restart during the outage fails again (a crash loop).
  const liveness = container.livenessProbe?.grpc;
  if (liveness && liveness.service !== LIVENESS_SERVICE) {
    problems.push(`${at}: livenessProbe must ask the "${LIVENESS_SERVICE}" health service (the process answers), got "${liveness.service ?? ""}", which follows readiness`);
  }
  const readiness = container.readinessProbe?.grpc?.service;
  if (readinessService === "named" && !/^funnel\.v1\.[A-Za-z]+Service$/.test(readiness ?? "")) {
    problems.push(`${at}: readinessProbe must name the funnel.v1 service whose model must be loaded, got "${readiness ?? ""}"`);
  }

  const portNames = new Map((container.ports ?? []).map((p) => [p.name, p.containerPort]));
  if (portNames.get("grpc") !== GRPC_PORT) problems.push(`${at}: needs a port named grpc on ${GRPC_PORT}`);
  if (portNames.get("metrics") !== METRICS_PORT) problems.push(`${at}: needs a port named metrics on ${METRICS_PORT}`);
  if (portNames.get("health") !== HEALTH_PORT) problems.push(`${at}: needs a port named health on ${HEALTH_PORT}`);
  return problems;
}

/**
 * Scheduled jobs (the retrain and outcomes CronJobs): hardened like the servers (init containers too), one run
 * at a time, never retried (a refused candidate or an accuracy alert is a verdict), and the pseudonym salt from the Secret (the candidate's user ids must match serving's).
 */
function cronJobViolations(cronJob: CronJob, configMapNames: Set<string>): string[] {
  const where = `CronJob ${cronJob.metadata.name}`;
  const problems: string[] = [];
  if (cronJob.spec.concurrencyPolicy !== "Forbid") problems.push(`${where}: concurrencyPolicy must be Forbid (two runs would race: for the candidate alias, or to push the older figures last)`);
  const job = cronJob.spec.jobTemplate.spec;
  if (job.backoffLimit !== 0) problems.push(`${where}: backoffLimit must be 0 (a failed run is a verdict: a refused candidate would be retrained and refused again, an accuracy alert re-joined)`);
  const pod = job.template.spec;
  if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${where}: pod securityContext.runAsNonRoot must be true`);
  for (const container of pod.initContainers ?? []) problems.push(...containerHardeningViolations(`${where} init container ${container.name}`, container));
  for (const container of pod.containers) {
    problems.push(...containerHardeningViolations(`${where} container ${container.name}`, container));
    if (!container.env?.find((e) => e.name === "FUNNEL_PSEUDONYM_SALT")?.valueFrom?.secretKeyRef) {
      problems.push(`${where}: FUNNEL_PSEUDONYM_SALT must come from a Secret (valueFrom.secretKeyRef)`);
    }
    for (const source of container.envFrom ?? []) {
      if (source.configMapRef && !configMapNames.has(source.configMapRef.name)) problems.push(`${where}: envFrom ConfigMap ${source.configMapRef.name} is not in the overlay`);
    }
  }
  return problems;
}

/**
 * The claim a Recommendation Deployment writes its served log to, or a violation. The log appends to
 * `served-recommendations-<day>.jsonl` (no pod name in it), so each pod needs its own directory: a
 * subPathExpr of an env var holding the pod name, on a PersistentVolumeClaim the outcomes CronJob can read
 * (an emptyDir dies with the pod; the root filesystem is read-only).
 */
function servedLogClaim(where: string, template: PodTemplate, dir: string): { claim?: string; problem?: string } {
  for (const container of template.spec.containers) {
    const mount = container.volumeMounts?.find((m) => m.mountPath === dir);
    if (!mount) return { problem: `${where}: ${SERVED_LOG_ENV} ${dir} is not a mounted volume (the root filesystem is read-only: every served-log write would fail)` };
    const claim = template.spec.volumes?.find((v) => v.name === mount.name)?.persistentVolumeClaim?.claimName;
    if (!claim) return { problem: `${where}: the served log at ${dir} must be on a PersistentVolumeClaim (the outcomes CronJob reads it; an emptyDir dies with the pod)` };
    const variable = /^\$\(([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(mount.subPathExpr ?? "")?.[1];
    if (!variable || container.env?.find((e) => e.name === variable)?.valueFrom?.fieldRef?.fieldPath !== "metadata.name") {
      return { problem: `${where}: the served log at ${dir} must be mounted with subPathExpr $(POD_NAME) (POD_NAME from fieldRef metadata.name), or replicas append to the same day file` };
    }
    if (mount.readOnly) return { problem: `${where}: the served log at ${dir} is mounted read-only` };
    return { claim };
  }
  return { problem: `${where}: has no containers` };
}

/** The outcome join CronJob: reads the claim the Recommendation pods write, and pushes its gauges. */
function outcomesJobViolations(cronJob: CronJob, servedClaims: Set<string>): string[] {
  const where = `CronJob ${cronJob.metadata.name}`;
  const pod = cronJob.spec.jobTemplate.spec.template.spec;
  const problems: string[] = [];
  for (const container of pod.containers.filter((c) => c.args?.[0] === "outcomes")) {
    const args = container.args ?? [];
    const served = args[args.indexOf("--served") + 1];
    const mount = container.volumeMounts?.find((m) => served !== undefined && (served === m.mountPath || served.startsWith(`${m.mountPath}/`)));
    const claim = mount && pod.volumes?.find((v) => v.name === mount.name)?.persistentVolumeClaim?.claimName;
    if (!claim || !servedClaims.has(claim)) {
      problems.push(`${where}: --served ${served ?? "(none)"} is not on the claim the Recommendation pods write (${[...servedClaims].join(", ") || "none"})`);
    }
    // A Job pod is gone before any scrape: the gauges (and the stale-join timestamp) must be pushed.
    if (!args.includes("--push-gateway")) problems.push(`${where}: must push its gauges with --push-gateway (a Job pod's /metrics or textfile is read by nobody)`);
  }
  return problems;
}

/** Upstream Service names in the router's experiment file (`dns:///name:port` targets). */
function experimentUpstreams(configMap: ConfigMap): { names: string[]; error?: string } {
  const file = configMap.data?.["experiments.yaml"];
  if (!file) return { names: [], error: `ConfigMap ${configMap.metadata.name} has no experiments.yaml` };
  let parsed: unknown;
  try {
    parsed = parse(file);
  } catch (error) {
    return { names: [], error: `ConfigMap ${configMap.metadata.name}: experiments.yaml is not YAML: ${(error as Error).message}` };
  }
  const names = new Set<string>();
  const visit = (value: unknown, key?: string) => {
    if (key === "upstream" && typeof value === "string") {
      const match = /^dns:\/\/\/([a-z0-9-]+):(\d+)$/.exec(value);
      names.add(match ? match[1]! : `<unparsable ${value}>`);
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item);
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) visit(v, k);
    }
  };
  visit(parsed);
  return { names: [...names] };
}

/** Everything wrong with one rendered overlay; empty when it keeps every rule. */
export function manifestViolations(resources: Resource[], options: { namespace: string }): string[] {
  const problems: string[] = [];
  const deployments = of<Deployment>(resources, "Deployment");
  const services = of<Service>(resources, "Service");
  const hpas = of<Hpa>(resources, "HorizontalPodAutoscaler");
  const pdbs = of<Pdb>(resources, "PodDisruptionBudget");
  const configMaps = of<ConfigMap>(resources, "ConfigMap");
  const configMapNames = new Set(configMaps.map((c) => c.metadata.name));

  if (deployments.length === 0) problems.push("no Deployments rendered");
  const serviceConfig = configMaps.find((c) => c.metadata.name.startsWith("funnel-service-config"));
  if (!serviceConfig) problems.push("no funnel-service-config ConfigMap rendered");
  for (const [key, ok] of Object.entries(SECURITY_CONFIG)) {
    if (serviceConfig && !ok(serviceConfig.data?.[key])) problems.push(`ConfigMap ${serviceConfig.metadata.name}: ${key} is "${serviceConfig.data?.[key] ?? ""}"; every gRPC port must serve TLS and check callers`);
  }
  for (const cronJob of of<CronJob>(resources, "CronJob")) problems.push(...cronJobViolations(cronJob, configMapNames));
  // Set on the Recommendation Deployments themselves (no other process reads it, and every process refuses a
  // FUNNEL_* variable it does not read), so it is looked up per Deployment.
  const recommendations = deployments.filter((d) => d.metadata.name.replace(/-canary$/, "") === RECOMMENDATION);
  const servedLogDirOf = (deployment: Deployment) => deployment.spec.template.spec.containers[0]?.env?.find((e) => e.name === SERVED_LOG_ENV)?.value;
  const servedClaims = new Set<string>();
  if (recommendations.some(servedLogDirOf)) {
    for (const deployment of recommendations) {
      const servedLogDir = servedLogDirOf(deployment);
      if (!servedLogDir) {
        problems.push(`Deployment ${deployment.metadata.name}: ${SERVED_LOG_ENV} is not set while other Recommendation Deployments log; its answers would be missing from the outcome join`);
        continue;
      }
      const { claim, problem } = servedLogClaim(`Deployment ${deployment.metadata.name}`, deployment.spec.template, servedLogDir);
      if (problem) problems.push(problem);
      if (claim) servedClaims.add(claim);
    }
    if (servedClaims.size > 1) problems.push(`Recommendation Deployments write served logs to several claims (${[...servedClaims].join(", ")}); the outcome join reads one`);
    const outcomeJobs = of<CronJob>(resources, "CronJob").filter((c) => c.spec.jobTemplate.spec.template.spec.containers.some((k) => k.args?.[0] === "outcomes"));
    if (outcomeJobs.length === 0) problems.push(`${SERVED_LOG_ENV} is set but no CronJob runs outcomes over the served log`);
    for (const cronJob of outcomeJobs) problems.push(...outcomesJobViolations(cronJob, servedClaims));
  }
  for (const resource of resources) {
    if (resource.kind !== "Namespace" && resource.metadata.namespace !== options.namespace) {
      problems.push(`${resource.kind} ${resource.metadata.name}: namespace ${resource.metadata.namespace ?? "(none)"}, expected ${options.namespace}`);
    }
  }

  for (const deployment of deployments) {
    const name = deployment.metadata.name;
    const where = `Deployment ${name}`;
    const template = deployment.spec.template;
    const labels = template.metadata?.labels ?? {};
    const component = labels["app.kubernetes.io/component"];
    if (!matches(deployment.spec.selector.matchLabels, labels)) problems.push(`${where}: selector does not match its pod template labels`);
    if (deployment.spec.replicas !== undefined) problems.push(`${where}: sets replicas, which would fight its HorizontalPodAutoscaler on every apply`);

    const pod = template.spec.securityContext;
    if (pod?.runAsNonRoot !== true) problems.push(`${where}: pod securityContext.runAsNonRoot must be true`);
    if (pod?.runAsUser === 0) problems.push(`${where}: runs as uid 0`);
    if (template.spec.containers.length === 0) problems.push(`${where}: has no containers`);
    for (const container of template.spec.containers) {
      problems.push(...containerViolations(where, container, component === CLIENT_BALANCED_COMPONENT ? "named" : "any"));
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef && !configMapNames.has(source.configMapRef.name)) problems.push(`${where}: envFrom ConfigMap ${source.configMapRef.name} is not in the overlay`);
      }
      if (component === CLIENT_BALANCED_COMPONENT) {
        const env = MODEL_REF_ENV[name.replace(/-canary$/, "")];
        const version = env && container.env?.find((e) => e.name === env)?.value;
        if (!env) problems.push(`${where}: no model version setting known for this model service; add it to MODEL_REF_ENV`);
        else if (!version || !/^\d+$/.test(version)) problems.push(`${where}: ${env} must pin a version number in the pod template, got "${version ?? ""}"`);
        // Two-tower services pseudonymise user ids with training's salt: a secret, never a literal in git.
        if (TWO_TOWER_SERVICES.has(name.replace(/-canary$/, "")) && !container.env?.find((e) => e.name === "FUNNEL_PSEUDONYM_SALT")?.valueFrom?.secretKeyRef) {
          problems.push(`${where}: FUNNEL_PSEUDONYM_SALT must come from a Secret (valueFrom.secretKeyRef)`);
        }
      }
    }
    for (const spread of template.spec.topologySpreadConstraints ?? []) {
      if (!matches(spread.labelSelector?.matchLabels, labels)) problems.push(`${where}: a topologySpreadConstraint's labelSelector does not select its own pods`);
    }
    const secretVolumes = new Map((template.spec.volumes ?? []).filter((v) => v.secret).map((v) => [v.secret!.secretName, v.name]));
    for (const secret of SECURITY_SECRETS) {
      const volume = secretVolumes.get(secret);
      if (!volume || !template.spec.containers.some((c) => c.volumeMounts?.some((m) => m.name === volume && !m.subPath))) {
        problems.push(`${where}: must mount Secret ${secret} as a directory (subPath mounts never see a renewed Secret)`);
      }
    }
    for (const volume of template.spec.volumes ?? []) {
      if (volume.configMap && !configMapNames.has(volume.configMap.name)) problems.push(`${where}: volume ConfigMap ${volume.configMap.name} is not in the overlay`);
    }

    const annotations = template.metadata?.annotations ?? {};
    if (annotations["prometheus.io/scrape"] !== "true" || annotations["prometheus.io/port"] !== String(METRICS_PORT)) {
      problems.push(`${where}: pod template needs prometheus.io/scrape "true" and prometheus.io/port "${METRICS_PORT}"`);
    }

    const hpa = hpas.filter((h) => h.spec.scaleTargetRef.kind === "Deployment" && h.spec.scaleTargetRef.name === name);
    if (hpa.length !== 1) problems.push(`${where}: needs exactly one HorizontalPodAutoscaler, has ${hpa.length}`);
    const pdb = pdbs.filter((p) => matches(p.spec.selector?.matchLabels, labels));
    if (pdb.length !== 1) problems.push(`${where}: needs exactly one PodDisruptionBudget selecting its pods, has ${pdb.length}`);
  }

  for (const hpa of hpas) {
    if (!deployments.some((d) => d.metadata.name === hpa.spec.scaleTargetRef.name)) problems.push(`HorizontalPodAutoscaler ${hpa.metadata.name}: targets missing Deployment ${hpa.spec.scaleTargetRef.name}`);
  }
  for (const pdb of pdbs) {
    const selected = deployments.filter((d) => matches(pdb.spec.selector?.matchLabels, d.spec.template.metadata?.labels));
    if (selected.length !== 1) problems.push(`PodDisruptionBudget ${pdb.metadata.name}: selects the pods of ${selected.length} Deployments, expected 1`);
  }

  for (const service of services) {
    if (service.spec.type === "ExternalName") continue;
    const where = `Service ${service.metadata.name}`;
    const selected = deployments.filter((d) => matches(service.spec.selector, d.spec.template.metadata?.labels));
    if (selected.length !== 1) {
      problems.push(`${where}: selects the pods of ${selected.length} Deployments, expected 1`);
      continue;
    }
    const component = selected[0]!.spec.template.metadata?.labels?.["app.kubernetes.io/component"];
    if (component === CLIENT_BALANCED_COMPONENT && service.spec.clusterIP !== "None") {
      problems.push(`${where}: fronts ${component} pods that gRPC clients balance over, so it must be headless (clusterIP: None)`);
    }
  }

  if (!resources.some((r) => r.kind === "NetworkPolicy" && JSON.stringify((r as any).spec?.podSelector) === "{}" && ((r as any).spec?.policyTypes ?? []).length === 2 && !(r as any).spec?.ingress && !(r as any).spec?.egress)) {
    problems.push("no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)");
  }

  const experiments = configMaps.find((c) => c.metadata.name === EXPERIMENTS_CONFIG_MAP);
  if (!experiments) problems.push(`ConfigMap ${EXPERIMENTS_CONFIG_MAP} (router experiments) is missing`);
  else {
    const { names, error } = experimentUpstreams(experiments);
    if (error) problems.push(error);
    if (!error && names.length === 0) problems.push(`ConfigMap ${EXPERIMENTS_CONFIG_MAP}: no upstreams`);
    for (const upstream of names) {
      const service = services.find((s) => s.metadata.name === upstream);
      if (!service) problems.push(`router experiments: upstream ${upstream} is not a Service in the overlay`);
      else if (service.spec.clusterIP !== "None") problems.push(`router experiments: upstream ${upstream} is not headless`);
    }
  }
  return problems;
}
