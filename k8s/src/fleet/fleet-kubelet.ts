// What the kubelet and the endpoints controller do for the fleet test: probe every pod with the gRPC health
// checks its Deployment declares (service names, periods and thresholds read from the manifests, periods
// scaled down), publish the ready pods' addresses under the Service's name in the fleet DNS, and note every
// liveness failure streak that would have restarted a pod.
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { parse } from "yaml";
import type { FleetDns } from "./fleet-dns.js";
import type { FleetPod } from "./fleet-pod.js";

export interface ProbeSpec {
  /** grpc.health.v1 service name the probe asks about ("" = the server as a whole). */
  service: string;
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
}

export interface PodProbes {
  readiness: ProbeSpec;
  liveness: ProbeSpec;
}

interface ManifestProbe {
  grpc?: { port: number; service?: string };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}

/** The readiness and liveness probes of a Deployment's first container, their periods multiplied by `scale`. */
export function probesOf(deploymentFile: string, scale: number): PodProbes {
  const deployment = parse(readFileSync(deploymentFile, "utf8")) as { spec: { template: { spec: { containers: Record<string, ManifestProbe>[] } } } };
  const container = deployment.spec.template.spec.containers[0]!;
  const spec = (probe: ManifestProbe | undefined, what: string): ProbeSpec => {
    if (!probe?.grpc) throw new Error(`${deploymentFile}: ${what} is not a gRPC probe`);
    // Kubernetes defaults: periodSeconds 10, timeoutSeconds 1, failureThreshold 3.
    return {
      service: probe.grpc.service ?? "",
      periodMs: (probe.periodSeconds ?? 10) * 1000 * scale,
      // Not scaled: on a busy machine a process may take a second to answer, and that is no reason to kill it.
      timeoutMs: (probe.timeoutSeconds ?? 1) * 1000,
      failureThreshold: probe.failureThreshold ?? 3,
    };
  };
  return { readiness: spec(container.readinessProbe, "readinessProbe"), liveness: spec(container.livenessProbe, "livenessProbe") };
}

// HealthCheckRequest { service = 1 } and HealthCheckResponse { status = 1 }, encoded by hand: two fields.
function healthRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  return name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, name.length]), name]);
}
const SERVING = 1;

/** One gRPC health probe as the kubelet sends it: a fresh connection, a deadline; true when SERVING. */
export function probe(address: string, spec: ProbeSpec): Promise<boolean> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
  const identity = (bytes: Buffer) => bytes;
  return new Promise<boolean>((resolve) =>
    client.makeUnaryRequest("/grpc.health.v1.Health/Check", identity, identity, healthRequest(spec.service), { deadline: Date.now() + spec.timeoutMs }, (error, answer) => {
      client.close();
      resolve(!error && answer !== undefined && answer.length === 2 && answer[0] === 0x08 && answer[1] === SERVING);
    }),
  );
}

export interface PodState {
  pod: FleetPod;
  probes: PodProbes;
  ready: boolean;
  /** Deleted (SIGTERM sent or about to be): out of the endpoints at once, as Kubernetes does. */
  terminating: boolean;
  everReady: boolean;
  readyAt?: number;
  readinessFailures: number;
  livenessFailures: number;
  /** Times the liveness probe failed failureThreshold times in a row: the kubelet would have restarted it. */
  livenessRestarts: number;
  /** When each liveness probe failed (performance.now()). */
  livenessFailedAt: number[];
  /** Readiness transitions (ready → not ready and back), for the record. */
  transitions: { at: number; ready: boolean }[];
  nextReadiness: number;
  nextLiveness: number;
  probing: boolean;
}

export class FleetKubelet {
  readonly pods = new Map<string, PodState[]>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly dns: FleetDns) {
    this.timer = setInterval(() => void this.tick(), 100);
  }

  /** Adds a started pod behind the Service `serviceName`; it joins the endpoints once its readiness probe passes. */
  add(serviceName: string, pod: FleetPod, probes: PodProbes): PodState {
    const state: PodState = {
      pod,
      probes,
      ready: false,
      terminating: false,
      everReady: false,
      readinessFailures: 0,
      livenessFailures: 0,
      livenessRestarts: 0,
      livenessFailedAt: [],
      transitions: [],
      nextReadiness: 0,
      nextLiveness: 0,
      probing: false,
    };
    const list = this.pods.get(serviceName) ?? [];
    list.push(state);
    this.pods.set(serviceName, list);
    if (!this.dns.get(serviceName).length) this.dns.set(serviceName, []);
    return state;
  }

  /** Resolves once the pod passed its readiness probe and is in the endpoints. */
  async ready(state: PodState, timeoutMs = 120_000): Promise<number> {
    const until = performance.now() + timeoutMs;
    while (!state.ready) {
      if (!state.pod.running) throw new Error(`${state.pod.name} exited before it was ready:\n${state.pod.logs()}`);
      if (performance.now() > until) throw new Error(`${state.pod.name} not ready within ${timeoutMs} ms:\n${state.pod.logs()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return state.readyAt!;
  }

  /** Deletes a pod: out of the endpoints first, then SIGTERM; resolves when the process exited. */
  async delete(serviceName: string, state: PodState, graceMs = 15_000) {
    state.terminating = true;
    this.publish(serviceName);
    return state.pod.stop(graceMs);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private publish(serviceName: string): void {
    const list = this.pods.get(serviceName) ?? [];
    this.dns.set(
      serviceName,
      list.filter((s) => s.ready && !s.terminating && s.pod.running).map((s) => s.pod.options.ip),
    );
  }

  private async tick(): Promise<void> {
    const now = performance.now();
    for (const [serviceName, list] of this.pods) {
      for (const state of list) {
        if (state.probing || !state.pod.running) {
          if (!state.pod.running && state.ready) {
            state.ready = false;
            state.transitions.push({ at: now, ready: false });
            this.publish(serviceName);
          }
          continue;
        }
        const readinessDue = now >= state.nextReadiness;
        // Liveness starts once the pod was ready once (the startup probe gates it until then).
        const livenessDue = state.everReady && now >= state.nextLiveness;
        if (!readinessDue && !livenessDue) continue;
        state.probing = true;
        void (async () => {
          try {
            if (readinessDue) {
              state.nextReadiness = now + state.probes.readiness.periodMs;
              const ok = await probe(state.pod.address, state.probes.readiness);
              state.readinessFailures = ok ? 0 : state.readinessFailures + 1;
              const ready = ok || (state.ready && state.readinessFailures < state.probes.readiness.failureThreshold);
              if (ready !== state.ready) {
                state.ready = ready;
                state.transitions.push({ at: performance.now(), ready });
                if (ready && !state.everReady) {
                  state.everReady = true;
                  state.readyAt = performance.now();
                  state.nextLiveness = performance.now() + state.probes.liveness.periodMs;
                }
                this.publish(serviceName);
              }
            }
            if (livenessDue) {
              state.nextLiveness = now + state.probes.liveness.periodMs;
              const alive = await probe(state.pod.address, state.probes.liveness);
              state.livenessFailures = alive ? 0 : state.livenessFailures + 1;
              if (!alive) state.livenessFailedAt.push(performance.now());
              if (state.livenessFailures >= state.probes.liveness.failureThreshold) {
                state.livenessRestarts++;
                state.livenessFailures = 0;
              }
            }
          } finally {
            state.probing = false;
          }
        })();
      }
    }
  }
}
