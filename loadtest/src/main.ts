// `npm run loadtest -- ...`: the k6 scenarios for machines without k6. Progress on stderr, one JSON document
// on stdout; exit code 99 when a threshold is crossed (as k6 does), so scripts can gate on it.
import { Presets, SingleBar } from "cli-progress";
import { positive, positiveInteger } from "./cli-numbers.js";
import { Command, InvalidArgumentError, Option } from "commander";
import { grpcMixCaller } from "./grpc-mix-caller.js";
import { SCENARIO_NAMES, SERVICE_LOAD, scenarioFor, type Scenario, type ScenarioName } from "./load-scenarios.js";
import { DEFAULT_MIX_OPTIONS, SERVICE_NAMES, serviceMix, type ServiceName } from "./request-mixes.js";
import { runLoad, type LoadMode } from "./run-load.js";
import { checkThresholds } from "./check-thresholds.js";
import { type ClientCredentialFlags, clientCredentials } from "./client-credentials.js";

/** "500ms", "30s", "2m", or a bare number of seconds. */
function parseDurationMs(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!match) throw new InvalidArgumentError(`expected a duration like 500ms, 30s or 2m, got "${raw}"`);
  const value = Number(match[1]);
  return match[2] === "ms" ? value : match[2] === "m" ? value * 60_000 : value * 1000;
}

function share(raw: string): number {
  const value = Number(raw);
  if (!(value >= 0 && value <= 1)) throw new InvalidArgumentError(`expected a share in 0..1, got "${raw}"`);
  return value;
}

function modeOf(scenario: Scenario): LoadMode {
  switch (scenario.kind) {
    case "constant-arrival-rate":
      return { ratePerSec: scenario.ratePerSec };
    case "ramping-arrival-rate":
      return { startRatePerSec: scenario.startRatePerSec, stages: scenario.stages };
    case "constant-vus":
      return { concurrency: scenario.concurrency };
  }
}

interface CliOptions extends ClientCredentialFlags {
  target: string;
  service: ServiceName;
  method?: string;
  scenario: ScenarioName;
  rate?: number;
  concurrency?: number;
  duration: number;
  requests?: number;
  warmup: number;
  deadlineMs: number;
  connections: number;
  maxInFlight?: number;
  users: number;
  items: number;
  coldStartShare: number;
  progress: boolean;
}

async function main(): Promise<void> {
  const options = new Command("loadtest")
    .description("Drive a funnel.v1 service with the k6 scenarios and print latency percentiles, throughput and errors by code as JSON.")
    .option("--target <host:port>", "gRPC address (a service, the router, or the embedded platform)", "127.0.0.1:50051")
    .addOption(new Option("--service <name>", "whose request mix to send").choices(SERVICE_NAMES).default("sentiment"))
    .option("--method <Service/Method>", "send only this method of the mix, e.g. SentimentService/Analyze")
    .addOption(new Option("--scenario <name>", "constant: arrival rate; ramping: 10% → rate → 2× rate → 0; closed: fixed concurrency").choices(SCENARIO_NAMES).default("constant"))
    .option("--rate <per-second>", "arrival rate (open scenarios; default per service)", positive)
    .option("--concurrency <n>", "callers in the closed scenario", positiveInteger)
    .option("--duration <time>", "measured window, e.g. 500ms, 30s or 2m; a bare number is seconds (ramping: the whole ramp; default 30s)", parseDurationMs, 30_000)
    .option("--requests <n>", "stop after this many calls", positiveInteger)
    .option("--warmup <time>", "unmeasured warm-up at the starting rate", parseDurationMs, 3_000)
    .option("--deadline-ms <ms>", "per-call deadline", positiveInteger, 5_000)
    .option("--connections <n>", "HTTP/2 connections to spread calls over", positiveInteger, 1)
    .option("--max-in-flight <n>", "open model: drop arrivals beyond this many calls in flight", positiveInteger)
    .option("--users <n>", "user ids user-000001.. that the served model knows", positiveInteger, DEFAULT_MIX_OPTIONS.users)
    .option("--items <n>", "item ids item-00001.. that the served model knows", positiveInteger, DEFAULT_MIX_OPTIONS.items)
    .option("--cold-start-share <0..1>", "share of user/item requests sent as raw features", share, DEFAULT_MIX_OPTIONS.coldStartShare)
    .option("--no-progress", "no progress bar on stderr")
    .option("--tls", "connect over TLS, verified against the system CAs (or --ca-file)")
    .option("--ca-file <pem>", "CA the server's certificate is verified against (implies --tls)")
    .option("--cert-file <pem>", "client certificate for mutual TLS (with --key-file)")
    .option("--key-file <pem>", "private key of --cert-file")
    .option("--server-name <name>", "name expected in the server's certificate, e.g. funnel-router behind a port-forward")
    .option("--token-file <file>", "file holding a bearer token (`npm run hash-token -- --generate`), sent as authorization; needs TLS")
    .parse()
    .opts<CliOptions>();

  const fullMix = serviceMix(options.service, { users: options.users, items: options.items, coldStartShare: options.coldStartShare });
  const entries = options.method ? fullMix.entries.filter((entry) => entry.method === options.method) : fullMix.entries;
  if (entries.length === 0) {
    throw new InvalidArgumentError(`--method ${options.method} is not in the ${options.service} mix (${fullMix.entries.map((e) => e.method).join(", ")})`);
  }
  const mix = { ...fullMix, entries };
  const scenario = scenarioFor(options.scenario, options.service, { ratePerSec: options.rate, durationMs: options.duration, concurrency: options.concurrency });
  const secured = clientCredentials(options);
  const caller = grpcMixCaller({
    target: options.target,
    mix,
    deadlineMs: options.deadlineMs,
    connections: options.connections,
    credentials: secured.credentials,
    channelOptions: secured.options,
  });
  const bar = options.progress && process.stderr.isTTY ? new SingleBar({ format: "load [{bar}] {percentage}% | {completed} calls | {errors} errors | {inFlight} in flight", stream: process.stderr }, Presets.shades_classic) : undefined;
  bar?.start(100, 0, { completed: 0, errors: 0, inFlight: 0 });
  try {
    const result = await runLoad({
      call: caller.call,
      group: caller.method,
      mode: modeOf(scenario),
      durationMs: scenario.kind === "ramping-arrival-rate" ? undefined : scenario.durationMs,
      requests: options.requests,
      warmupMs: options.warmup,
      maxInFlight: options.maxInFlight,
      onProgress: (p) => bar?.update(p.plannedMs ? Math.min(100, Math.round((100 * p.elapsedMs) / p.plannedMs)) : 0, p),
    });
    bar?.update(100);
    bar?.stop();
    const thresholds = SERVICE_LOAD[options.service].thresholds;
    const verdict = checkThresholds(result, thresholds);
    // The generator's own limits, said out loud: a run that did not offer its load measured less than asked.
    const warnings: string[] = [];
    if (result.dropped > 0) warnings.push(`${result.dropped} arrivals dropped: ${options.maxInFlight ?? 10_000} calls were already in flight`);
    if (result.scheduleLagMs && result.scheduleLagMs.p99Ms > 100) {
      warnings.push(`calls started up to ${result.scheduleLagMs.p99Ms} ms late (p99): this machine, not the server, limited the rate`);
    }
    const report = {
      loadtest: {
        target: options.target,
        service: options.service,
        methods: entries.map((entry) => ({ method: entry.method, weight: entry.weight })),
        scenario,
        warmupMs: options.warmup,
        deadlineMs: options.deadlineMs,
        connections: options.connections,
        tls: secured.tls,
        token: Boolean(options.tokenFile),
      },
      thresholds,
      ...verdict,
      warnings,
      result,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    if (!verdict.pass) process.exitCode = 99;
  } finally {
    bar?.stop();
    caller.close();
    secured.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`loadtest: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
