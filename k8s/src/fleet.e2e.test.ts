// The fleet as Kubernetes runs it, with real processes: the router, two replicas of each model service on their
// own loopback addresses (127.0.0.x, as pods have their own IPs) behind names in a DNS server the test controls
// (a headless Service: one A record per ready pod), one milvus-lite shared by the similarity and
// recommendation replicas, and one file registry. A kubelet stand-in probes every pod with the probes its
// Deployment declares (periods scaled by PROBE_SCALE) and keeps the names pointing at the ready pods. The router
// reads the base experiments file with only the upstream targets swapped for that DNS, and resolves them with
// grpc-js's own DNS resolver. Under a bounded load through the router (every answer's status and model version
// recorded), it shows the fleet's promises one by one and prints the figures.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  DeviceType,
  EmbeddingServiceClient,
  PageType,
  RecommendationServiceClient,
  SentimentServiceClient,
  SimilarityServiceClient,
} from "@funnel/proto";
import { FileRegistry } from "@funnel/registry";
import { tinyModelDataset, trainTinyModelDirectory } from "@funnel/training/testing";
import { findMilvusLite, type MilvusLiteServer, startMilvusLite } from "@funnel/vector-index/testing";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { FleetDns } from "./fleet/fleet-dns.js";
import { FleetKubelet, type PodProbes, type PodState, probe, probesOf } from "./fleet/fleet-kubelet.js";
import { FleetPod } from "./fleet/fleet-pod.js";

const k8sDir = fileURLToPath(new URL("..", import.meta.url));
const executable = await findMilvusLite(process.env.PATH ?? "");

/** Manifest seconds → test seconds: a 10 s liveness period becomes 1 s. */
const PROBE_SCALE = 0.1;
/** The replicas' maximum connection age (FUNNEL_MAX_CONNECTION_AGE_MS), short so the test sees several. */
const MAX_AGE_MS = 3_000;
const MAX_AGE_GRACE_MS = 2_000;
/** The router's least time between two resolutions of a name (FUNNEL_ROUTER_MIN_RERESOLVE_MS). */
const MIN_RERESOLVE_MS = 500;
const SALT = "fleet-salt";
/** Callers per service, each waiting PAUSE_MS between calls: a bounded load (about 4 × 2 × 40 calls/s). */
const CALLERS_PER_SERVICE = 2;
const PAUSE_MS = 25;

type ServiceKey = "sentiment" | "embedding" | "similarity" | "recommendation";
const SERVICES: ServiceKey[] = ["sentiment", "embedding", "similarity", "recommendation"];
const DNS_NAME: Record<ServiceKey, string> = {
  sentiment: "funnel-sentiment",
  embedding: "funnel-embedding",
  similarity: "funnel-similarity",
  recommendation: "funnel-recommendation",
};
const DEPLOYMENT: Record<ServiceKey, string> = {
  sentiment: "base/sentiment/deployment.yaml",
  embedding: "base/two-tower/embedding/deployment.yaml",
  similarity: "base/two-tower/similarity/deployment.yaml",
  recommendation: "base/two-tower/recommendation/deployment.yaml",
};

interface CallRecord {
  service: ServiceKey;
  start: number;
  end: number;
  code: string;
  version: string;
  details: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

describe.skipIf(!executable)("the fleet: router, two replicas per service, shared Milvus, rolling updates and failures under load", () => {
  let root: string;
  let dns: FleetDns;
  let kubelet: FleetKubelet;
  let milvus: MilvusLiteServer;
  let router: FleetPod;
  const pods: FleetPod[] = [];
  const ports = {} as Record<ServiceKey, number>;
  const probes = {} as Record<ServiceKey, PodProbes>;
  let nextIp = 10;
  const calls: CallRecord[] = [];
  let loadStopped = false;
  let load: Promise<void>;
  const figures: Record<string, unknown> = {};
  const knownUser = tinyModelDataset({}).events[0]!.userId;
  /** When each model version was first ready in the fleet and when its last replica exited. */
  const live: Record<string, { from: number; to: number }> = {};

  async function startReplica(service: ServiceKey, version: number): Promise<PodState> {
    const ip = `127.0.0.${nextIp++}`;
    const name = `${service}-v${version}-${ip.split(".")[3]}`;
    const own: Record<ServiceKey, string[]> = {
      sentiment: [],
      embedding: ["--embedding-model-ref", String(version)],
      similarity: ["--similarity-model-ref", String(version)],
      recommendation: ["--recommendation-model-ref", String(version)],
    };
    // The shared Milvus as k8s/base/service-config.env names it (the variable every Milvus user reads).
    const milvusEnv: Record<string, string> =
      service === "similarity" || service === "recommendation" ? { FUNNEL_MILVUS_ADDRESS: milvus.address, FUNNEL_MILVUS_CHECK_MS: "250" } : {};
    const pod = await FleetPod.start({
      service,
      name,
      ip,
      port: ports[service],
      args: [
        ...["--host", ip, "--port", String(ports[service]), "--metrics-port", "0", "--log-level", "info"],
        ...["--registry-dir", path.join(root, "registry"), "--model-cache-dir", path.join(root, "cache", name)],
        ...own[service],
      ],
      env: {
        FUNNEL_PSEUDONYM_SALT: SALT,
        FUNNEL_MAX_CONNECTION_AGE_MS: String(MAX_AGE_MS),
        FUNNEL_MAX_CONNECTION_AGE_GRACE_MS: String(MAX_AGE_GRACE_MS),
        FUNNEL_SHUTDOWN_GRACE_MS: "5000",
        ...milvusEnv,
      },
    });
    pods.push(pod);
    return kubelet.add(DNS_NAME[service], pod, probes[service]);
  }

  /** Callers through the router, each recording every answer: status and the model version it names. */
  function startLoad(): Promise<void> {
    const target = router.address;
    const credentials = grpc.credentials.createInsecure();
    const clients = {
      sentiment: new SentimentServiceClient(target, credentials),
      embedding: new EmbeddingServiceClient(target, credentials),
      similarity: new SimilarityServiceClient(target, credentials),
      recommendation: new RecommendationServiceClient(target, credentials),
    };
    const once = (service: ServiceKey): Promise<CallRecord> => {
      const start = performance.now();
      const options = { deadline: Date.now() + 5_000 };
      return new Promise((resolve) => {
        const done = (error: grpc.ServiceError | null, answer?: { model?: { version: string } }) =>
          resolve({
            service,
            start,
            end: performance.now(),
            code: error ? grpc.status[error.code]! : "OK",
            version: answer?.model?.version ?? "",
            details: error?.details ?? "",
          });
        const metadata = new grpc.Metadata();
        switch (service) {
          case "sentiment":
            clients.sentiment.analyze({ text: "checkout was quick and easy", page: PageType.PAGE_TYPE_PAYMENT }, metadata, options, done);
            break;
          case "embedding":
            clients.embedding.embedUsers({ users: [{ input: { $case: "userId", value: knownUser } }] }, metadata, options, done);
            break;
          case "similarity":
            clients.similarity.findSimilarUsers({ query: { $case: "userId", value: knownUser }, topK: 5, excludeSelf: true }, metadata, options, done);
            break;
          case "recommendation":
            clients.recommendation.recommendItems({ userId: knownUser, topK: 5, excludeItemIds: [] }, metadata, options, done);
            break;
        }
      });
    };
    const callers = SERVICES.flatMap((service) =>
      Array.from({ length: CALLERS_PER_SERVICE }, async () => {
        while (!loadStopped) {
          calls.push(await once(service));
          await sleep(PAUSE_MS);
        }
      }),
    );
    return Promise.all(callers).then(() => {
      for (const client of Object.values(clients)) client.close();
    });
  }

  const callsBetween = (from: number, to: number, service?: ServiceKey) => calls.filter((c) => c.start >= from && c.start < to && (!service || c.service === service));
  const summary = (records: CallRecord[]) => {
    // The first failure's message per status: what a caller was told.
    const samples: Record<string, string> = {};
    for (const c of records) if (c.code !== "OK" && !(c.code in samples)) samples[c.code] = c.details.slice(0, 200);
    return { calls: records.length, codes: countBy(records, (c) => c.code), versions: countBy(records, (c) => c.version || "-"), ...(Object.keys(samples).length ? { errorSamples: samples } : {}) };
  };

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "fleet-"));
    dns = await FleetDns.start();
    kubelet = new FleetKubelet(dns);
    for (const service of SERVICES) {
      ports[service] = await freePort();
      probes[service] = probesOf(path.join(k8sDir, DEPLOYMENT[service]), PROBE_SCALE);
    }
    // Two versions of one model in one file registry: the replicas pin version 1, the rolling update 2.
    const registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "fleet-test" });
    for (const seed of [1, 2]) {
      await trainTinyModelDirectory(path.join(root, `model-${seed}`), { seed, salt: SALT });
      await registry.register(path.join(root, `model-${seed}`));
    }
    milvus = await startMilvusLite(executable!, { dataDir: path.join(root, "milvus") });
    const started = performance.now();
    // Two replicas per service, all at once as a Deployment's pods start.
    const states = await Promise.all(SERVICES.flatMap((service) => [startReplica(service, 1), startReplica(service, 1)]));
    await Promise.all(states.map((state) => kubelet.ready(state, 180_000)));
    figures.startUpMs = Math.round(performance.now() - started);
    live["1"] = { from: performance.now(), to: Number.POSITIVE_INFINITY };

    // The router with the base experiment file; only the upstream targets point at the fleet's DNS.
    const experiments = parse(await readFile(path.join(k8sDir, "base/router/experiments.yaml"), "utf8")) as {
      experiments: { service: string; variants: { upstream: string }[] }[];
    };
    for (const experiment of experiments.experiments) {
      for (const variant of experiment.variants) {
        const service = SERVICES.find((s) => variant.upstream.includes(DNS_NAME[s]) && variant.upstream.endsWith(`${DNS_NAME[s]}:50051`))!;
        variant.upstream = dns.target(DNS_NAME[service], ports[service]);
      }
    }
    await mkdir(path.join(root, "router"), { recursive: true });
    const experimentsFile = path.join(root, "router", "experiments.yaml");
    await writeFile(experimentsFile, stringify(experiments));
    const routerPort = await freePort();
    router = await FleetPod.start({
      service: "router",
      name: "router",
      ip: "127.0.0.2",
      port: routerPort,
      args: [
        ...["--host", "127.0.0.2", "--port", String(routerPort), "--metrics-port", "0", "--log-level", "info"],
        ...["--router-experiments", experimentsFile, "--router-min-reresolve-ms", String(MIN_RERESOLVE_MS)],
      ],
      // grpc-js asks the DNS server a dns://server/name target names only with this switch (c-ares).
      env: { GRPC_NODE_USE_ALTERNATIVE_RESOLVER: "true", FUNNEL_MAX_CONNECTION_AGE_MS: String(MAX_AGE_MS) },
    });
    pods.push(router);
    // The router's readiness (each forwarded API is SERVING once an experiment routes it) before any load.
    const routed = ["funnel.v1.SentimentService", "funnel.v1.EmbeddingService", "funnel.v1.SimilarityService", "funnel.v1.RecommendationService"];
    const routerReadyBy = performance.now() + 60_000;
    for (const service of routed) {
      while (!(await probe(router.address, { service, periodMs: 0, timeoutMs: 2_000, failureThreshold: 1 }))) {
        if (performance.now() > routerReadyBy) throw new Error(`router not ready for ${service}:\n${router.logs()}`);
        await sleep(100);
      }
    }
    load = startLoad();
    await sleep(3_000);
  }, 400_000);

  afterAll(async () => {
    loadStopped = true;
    await load;
    kubelet?.close();
    await Promise.all(pods.map((pod) => pod.stop(3_000)));
    await milvus?.stop();
    await dns?.close();
    console.log(`fleet figures: ${JSON.stringify(figures, null, 2)}`);
    if (root) await rm(root, { recursive: true, force: true });
  }, 60_000);

  const replicas = (service: ServiceKey) => kubelet.pods.get(DNS_NAME[service]) ?? [];

  it("serves every API through the router from the start, every answer naming version 1", () => {
    const first = calls.slice();
    figures.warmUp = summary(first);
    expect(first.length).toBeGreaterThan(20);
    expect(first.filter((c) => c.code !== "OK").map((c) => `${c.service} ${c.code} ${c.details}`)).toEqual([]);
    // Sentiment names its rule set's version; the two-tower services the pinned version.
    for (const c of first.filter((c) => c.service !== "sentiment")) expect(c.version).toBe("1");
  });

  it("a vector upserted through one similarity replica is found through the other (one shared Milvus)", async () => {
    const [a, b] = replicas("similarity").map((s) => new SimilarityServiceClient(s.pod.address, grpc.credentials.createInsecure()));
    const features = { device: DeviceType.DEVICE_TYPE_TABLET, recentInteractions: [] };
    type Answer = { code: string; version: string; top: string[] };
    const answer = (resolve: (a: Answer) => void) => (error: grpc.ServiceError | null, found?: { users: { id: string }[]; model?: { version: string } }) =>
      resolve({ code: error ? grpc.status[error.code]! : "OK", version: found?.model?.version ?? "", top: found?.users.map((u) => u.id) ?? [] });
    // The same features make the same vector on every replica: the upserted user is then its own best match.
    const byFeatures = (client: SimilarityServiceClient) =>
      new Promise<Answer>((resolve) => client.findSimilarUsers({ query: { $case: "features", value: features }, topK: 3 }, answer(resolve)));
    const byId = (client: SimilarityServiceClient) =>
      new Promise<Answer>((resolve) => client.findSimilarUsers({ query: { $case: "userId", value: "fleet-upserted-user" }, topK: 3 }, answer(resolve)));
    try {
      const before = await byFeatures(b!);
      expect(before.code).toBe("OK");
      const upserted = await new Promise<number>((resolve, reject) =>
        a!.upsertUserVectors({ users: [{ userId: "fleet-upserted-user", source: { $case: "features", value: features } }] }, (error, done) =>
          error ? reject(error) : resolve(done!.upserted),
        ),
      );
      expect(upserted).toBe(1);
      const onA = await byFeatures(a!);
      const onB = await byFeatures(b!);
      const idOnB = await byId(b!);
      figures.sharedMilvus = {
        upsertedThrough: replicas("similarity")[0]!.pod.name,
        searchedThrough: replicas("similarity")[1]!.pod.name,
        topBefore: before.top[0],
        topAfterOnUpserter: onA.top[0],
        topAfterOnOther: onB.top[0],
        // By id, the other replica finds the user in the shared store (it never held it in memory).
        findByIdOnOther: idOnB.code,
      };
      const pseudonym = onA.top[0];
      expect(before.top).not.toContain(pseudonym);
      expect(onB).toMatchObject({ code: "OK", version: "1" });
      expect(onB.top[0]).toBe(pseudonym);
      expect(idOnB).toMatchObject({ code: "OK", version: "1" });
      expect(idOnB.top).not.toContain(pseudonym);
    } finally {
      a?.close();
      b?.close();
    }
  }, 30_000);

  it("a third similarity replica added under load gets its share of the router's calls within the maximum connection age", async () => {
    const method = "SimilarityService/FindSimilarUsers";
    const third = await startReplica("similarity", 1);
    const inEndpoints = await kubelet.ready(third);
    const before = await third.pod.callCount(method);
    let firstCallAt: number | undefined;
    while (performance.now() - inEndpoints < 3 * MAX_AGE_MS) {
      if ((await third.pod.callCount(method)) > before) {
        firstCallAt = performance.now();
        break;
      }
      await sleep(100);
    }
    expect(firstCallAt, "the new replica got no call").toBeDefined();
    const toFirstCallMs = Math.round(firstCallAt! - inEndpoints);
    // Its share once connected: every replica's calls over two connection ages.
    const counts = async () => Promise.all(replicas("similarity").map((s) => s.pod.callCount(method)));
    const start = await counts();
    await sleep(2 * MAX_AGE_MS);
    const end = await counts();
    const delta = end.map((n, i) => n - start[i]!);
    const total = delta.reduce((a, b) => a + b, 0);
    const share = delta[2]! / total;
    figures.scaleOut = {
      maxConnectionAgeMs: MAX_AGE_MS,
      minReresolveMs: MIN_RERESOLVE_MS,
      newReplicaFirstCallAfterReadyMs: toFirstCallMs,
      callsPerReplicaOver2Ages: Object.fromEntries(replicas("similarity").map((s, i) => [s.pod.name, delta[i]])),
      newReplicaShare: Number(share.toFixed(3)),
      dnsQueries: dns.queries.get(DNS_NAME.similarity),
    };
    // grpc-js jitters the age by ±10 %; the resolution that follows waits at most MIN_RERESOLVE_MS.
    expect(toFirstCallMs).toBeLessThanOrEqual(MAX_AGE_MS * 1.1 + MIN_RERESOLVE_MS + 1_000);
    expect(total).toBeGreaterThan(30);
    // Round robin over three: a third each; a fifth allows for the machine's noise and the window's edges.
    expect(share).toBeGreaterThan(0.2);
  }, 180_000);

  it("a rolling update of embedding to version 2 (surge 1, unavailable 0: start, ready, then SIGTERM an old one) fails no call", async () => {
    const from = performance.now();
    const old = replicas("embedding").slice();
    let firstV2Ready: number | undefined;
    for (const pod of old) {
      const fresh = await startReplica("embedding", 2);
      const readyAt = await kubelet.ready(fresh);
      firstV2Ready ??= readyAt;
      const exit = await kubelet.delete(DNS_NAME.embedding, pod);
      expect(exit.code, `${pod.pod.name} drained and exited 0 on SIGTERM`).toBe(0);
    }
    const lastV1Exit = performance.now();
    await sleep(1_000);
    const during = callsBetween(from, performance.now());
    const embedding = during.filter((c) => c.service === "embedding");
    figures.rollingUpdate = { ...summary(during), embedding: summary(embedding), seconds: Number(((performance.now() - from) / 1000).toFixed(1)) };
    expect(embedding.filter((c) => c.code !== "OK").map((c) => `${c.code} ${c.details}`)).toEqual([]);
    // The other APIs fail nothing either, except a call that waited past the router's deadline while a new pod
    // loaded its model on the same two cores (a shared test machine; a cluster's pods have their own CPUs).
    expect(during.filter((c) => c.code !== "OK" && c.code !== "DEADLINE_EXCEEDED").map((c) => `${c.service} ${c.code} ${c.details}`)).toEqual([]);
    expect(new Set(embedding.map((c) => c.version))).toEqual(new Set(["1", "2"]));
    // Every answer names a version that was live when it was given.
    for (const c of embedding) {
      if (c.version === "2") expect(c.end).toBeGreaterThanOrEqual(firstV2Ready!);
      else expect(c.start).toBeLessThanOrEqual(lastV1Exit);
    }
    // After the update only version 2 answers.
    const after = callsBetween(lastV1Exit + 500, performance.now(), "embedding");
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(after.map((c) => c.version))).toEqual(new Set(["2"]));
  }, 240_000);

  it("SIGKILL of a sentiment replica costs only retryable calls, within the router's error bound", async () => {
    const bound = (parse(await readFile(path.join(k8sDir, "base/router/experiments.yaml"), "utf8")) as { guardrails: { maxErrorRate: number } })
      .guardrails.maxErrorRate;
    const victim = replicas("sentiment")[0]!;
    const from = performance.now();
    victim.pod.signal("SIGKILL");
    await victim.pod.exited;
    // Long enough for the kubelet to see it gone and the router to drop its address.
    await sleep(3_000);
    const during = callsBetween(from, performance.now(), "sentiment");
    const failed = during.filter((c) => c.code !== "OK");
    figures.sigkill = { killed: victim.pod.name, ...summary(during), failedShare: Number((failed.length / during.length).toFixed(4)), routerErrorBound: bound };
    expect(during.length).toBeGreaterThan(20);
    // UNAVAILABLE is what a client may retry; anything else would be a wrong answer.
    expect([...new Set(failed.map((c) => c.code))].filter((code) => code !== "UNAVAILABLE")).toEqual([]);
    expect(failed.length / during.length).toBeLessThanOrEqual(bound);
  }, 30_000);

  it("Milvus stopped for longer than the liveness period restarts no replica: readiness goes NOT_SERVING, then recovers by itself", async () => {
    const affected = [...replicas("similarity"), ...replicas("recommendation")].filter((s) => s.pod.running && !s.terminating);
    const livenessWindowMs = Math.max(...affected.map((s) => s.probes.liveness.periodMs * s.probes.liveness.failureThreshold));
    const port = milvus.port;
    const from = performance.now();
    await milvus.stop();
    // Until readiness has gone NOT_SERVING somewhere, then on for longer than liveness would tolerate.
    const until = performance.now() + 30_000;
    while (!affected.some((s) => !s.ready) && performance.now() < until) await sleep(100);
    const notReadyAfterMs = Math.round(performance.now() - from);
    await sleep(livenessWindowMs + 2_000);
    const downMs = Math.round(performance.now() - from);
    milvus = await startMilvusLite(executable!, { port, dataDir: milvus.dataDir });
    const back = performance.now();
    const deadline = back + 90_000;
    while (affected.some((s) => !s.ready) && performance.now() < deadline) await sleep(200);
    const recoveredAfterMs = Math.round(performance.now() - back);
    const during = callsBetween(from, performance.now());
    figures.milvusOutage = {
      milvusDownMs: downMs,
      livenessWindowMs: Math.round(livenessWindowMs),
      firstNotReadyAfterMs: notReadyAfterMs,
      allReadyAgainAfterMilvusBackMs: recoveredAfterMs,
      livenessRestarts: Object.fromEntries(affected.map((s) => [s.pod.name, s.livenessRestarts])),
      livenessFailuresMsAfterStop: Object.fromEntries(affected.map((s) => [s.pod.name, s.livenessFailedAt.filter((t) => t >= from).map((t) => Math.round(t - from))])),
      readinessTransitions: Object.fromEntries(affected.map((s) => [s.pod.name, s.transitions.filter((t) => t.at >= from).map((t) => (t.ready ? "ready" : "not-ready"))])),
      byService: Object.fromEntries(SERVICES.map((service) => [service, summary(during.filter((c) => c.service === service))])),
    };
    expect(affected.every((s) => s.transitions.some((t) => t.at >= from && !t.ready)), "every Milvus-backed replica went NOT_SERVING").toBe(true);
    expect(affected.map((s) => s.livenessRestarts)).toEqual(affected.map(() => 0));
    expect(affected.every((s) => s.pod.running)).toBe(true);
    expect(affected.every((s) => s.ready), "every replica ready again").toBe(true);
    // The services without Milvus never noticed.
    for (const service of ["sentiment", "embedding"] as const) {
      expect(during.filter((c) => c.service === service && c.code !== "OK").map((c) => `${c.code} ${c.details}`)).toEqual([]);
    }
    // And each Milvus-backed replica answers again (asked directly: the router's circuit breaker may still hold
    // the upstream open for its openSeconds after the outage's failures).
    for (const state of replicas("similarity").filter((s) => s.pod.running && !s.terminating)) {
      const client = new SimilarityServiceClient(state.pod.address, grpc.credentials.createInsecure());
      const code = await new Promise<string>((resolve) =>
        client.findSimilarUsers({ query: { $case: "userId", value: knownUser }, topK: 3 }, (error) => resolve(error ? grpc.status[error.code]! : "OK")),
      );
      client.close();
      expect(code, state.pod.name).toBe("OK");
    }
  }, 180_000);

  it("records the whole run: calls, codes and versions per service", () => {
    figures.total = Object.fromEntries(SERVICES.map((service) => [service, summary(calls.filter((c) => c.service === service))]));
    figures.livenessRestartsAllPods = Object.fromEntries([...kubelet.pods.values()].flat().map((s) => [s.pod.name, s.livenessRestarts]));
    expect(calls.length).toBeGreaterThan(500);
  });
});
