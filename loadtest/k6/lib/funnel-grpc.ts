// Shared k6 wiring for the funnel.v1 services: the scenario (from env), thresholds, and one iteration that sends
// the next request of the service's mix. The scenarios, bounds and mixes are the Node generator's own files.
import { check } from "k6";
import exec from "k6/execution";
import { Counter, Rate } from "k6/metrics";
import grpc from "k6/net/grpc";
import type { Options, Scenario as K6Scenario } from "k6/options";
import { ArrivalSchedule } from "../../src/arrival-schedule.ts";
import { SERVICE_LOAD, scenarioFor, type Scenario, type ScenarioName } from "../../src/load-scenarios.ts";
import { DEFAULT_MIX_OPTIONS, pickEntry, serviceMix, type ServiceName } from "../../src/request-mixes.ts";

/** Settings from `k6 run -e NAME=value`, with the defaults the README documents. */
const env = {
  target: __ENV.TARGET ?? "127.0.0.1:50051",
  scenario: (__ENV.SCENARIO ?? "constant") as ScenarioName,
  rate: __ENV.RATE ? Number(__ENV.RATE) : undefined,
  vus: __ENV.VUS ? Number(__ENV.VUS) : undefined,
  durationMs: __ENV.DURATION_MS ? Number(__ENV.DURATION_MS) : 60_000,
  deadline: __ENV.DEADLINE ?? "5s",
  maxVus: __ENV.MAX_VUS ? Number(__ENV.MAX_VUS) : 400,
  // Resolved against the main script's folder (loadtest/k6/), where k6 runs init code.
  protoRoot: __ENV.PROTO_ROOT ?? "../../proto",
  users: __ENV.USERS ? Number(__ENV.USERS) : DEFAULT_MIX_OPTIONS.users,
  items: __ENV.ITEMS ? Number(__ENV.ITEMS) : DEFAULT_MIX_OPTIONS.items,
  coldStartShare: __ENV.COLD_START_SHARE ? Number(__ENV.COLD_START_SHARE) : DEFAULT_MIX_OPTIONS.coldStartShare,
  // The secured deployment (the router serves TLS and wants a caller's token): paths relative to loadtest/k6/.
  tls: __ENV.TLS === "true" || Boolean(__ENV.CA_FILE || __ENV.CERT_FILE),
  caFile: __ENV.CA_FILE ?? "",
  certFile: __ENV.CERT_FILE ?? "",
  keyFile: __ENV.KEY_FILE ?? "",
  tokenFile: __ENV.TOKEN_FILE ?? "",
};

if (env.tokenFile && !env.tls) throw new Error("TOKEN_FILE needs TLS (TLS=true or CA_FILE): a token is never sent in plaintext");
if (Boolean(env.certFile) !== Boolean(env.keyFile)) throw new Error("CERT_FILE needs KEY_FILE and the other way round");
// open() works only in the init context, where this module is evaluated.
const tlsParams = env.tls
  ? ({
      cert: env.certFile ? open(env.certFile) : "",
      key: env.keyFile ? open(env.keyFile) : "",
      ...(env.caFile ? { cacerts: [open(env.caFile)] } : {}),
    } satisfies grpc.TLSParams)
  : undefined;
const token = env.tokenFile ? open(env.tokenFile).trim() : "";
const metadata: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};

const errors = new Rate("funnel_errors");
const statuses = new Counter("funnel_status");

function ms(value: number): string {
  return `${Math.round(value)}ms`;
}

/** The shared scenario in k6's executor vocabulary. */
export function k6Scenario(scenario: Scenario, maxVUs: number): K6Scenario {
  switch (scenario.kind) {
    case "constant-arrival-rate":
      return {
        executor: "constant-arrival-rate",
        rate: scenario.ratePerSec,
        timeUnit: "1s",
        duration: ms(scenario.durationMs),
        preAllocatedVUs: Math.min(maxVUs, Math.max(4, Math.ceil(scenario.ratePerSec / 10))),
        maxVUs,
      };
    case "ramping-arrival-rate":
      return {
        executor: "ramping-arrival-rate",
        startRate: scenario.startRatePerSec,
        timeUnit: "1s",
        stages: scenario.stages.map((stage) => ({ duration: ms(stage.durationMs), target: stage.target })),
        preAllocatedVUs: Math.min(maxVUs, Math.max(4, Math.ceil(Math.max(...scenario.stages.map((s) => s.target)) / 10))),
        maxVUs,
      };
    case "constant-vus":
      return { executor: "constant-vus", vus: scenario.concurrency, duration: ms(scenario.durationMs) };
  }
}

export interface FunnelScript {
  options: Options;
  iteration(): void;
}

/** Everything a per-service script exports; call it in the init context (it loads the proto). */
export function funnelScript(service: ServiceName): FunnelScript {
  const mix = serviceMix(service, { users: env.users, items: env.items, coldStartShare: env.coldStartShare });
  const client = new grpc.Client();
  client.load([env.protoRoot], mix.protoFile);
  const bounds = SERVICE_LOAD[service].thresholds;
  const scenario = scenarioFor(env.scenario, service, { ratePerSec: env.rate, durationMs: env.durationMs, concurrency: env.vus });

  const thresholds: NonNullable<Options["thresholds"]> = {
    grpc_req_duration: [`p(95)<${bounds.p95Ms}`, `p(99)<${bounds.p99Ms}`],
    funnel_errors: [`rate<${bounds.maxErrorRate}`],
  };
  if (scenario.kind !== "constant-vus") {
    // An arrival-rate run that ran out of VUs did not offer the planned load: fail it rather than pass on less.
    const planned = scenario.kind === "constant-arrival-rate" ? ArrivalSchedule.constant(scenario.ratePerSec, scenario.durationMs) : new ArrivalSchedule(scenario.startRatePerSec, scenario.stages);
    thresholds.dropped_iterations = [`count<${Math.max(1, Math.ceil(planned.total * 0.01))}`];
  }
  for (const entry of mix.entries) {
    // Per-method bounds use the same numbers; the tag makes a slow AnalyzeBatch visible behind a fast Analyze.
    thresholds[`grpc_req_duration{rpc:${entry.method}}`] = [`p(99)<${bounds.p99Ms * (entry.method.endsWith("Batch") ? 4 : 1)}`];
  }

  let connected = false;
  return {
    options: {
      scenarios: { [`${service}-${env.scenario}`]: k6Scenario(scenario, env.maxVus) },
      thresholds,
      summaryTrendStats: ["avg", "min", "med", "p(90)", "p(95)", "p(99)", "max"],
    },
    iteration() {
      if (!connected) {
        client.connect(env.target, tlsParams ? { plaintext: false, tls: tlsParams, timeout: "10s" } : { plaintext: true, timeout: "10s" });
        connected = true;
      }
      const i = exec.scenario.iterationInTest;
      const entry = pickEntry(mix, i);
      const response = client.invoke(`funnel.v1.${entry.method}`, entry.request(i), { timeout: env.deadline, tags: { rpc: entry.method }, metadata });
      const ok = response.status === grpc.StatusOK;
      errors.add(!ok, { rpc: entry.method });
      statuses.add(1, { rpc: entry.method, code: String(response.status) });
      check(response, { "status is OK": () => ok });
    },
  };
}
