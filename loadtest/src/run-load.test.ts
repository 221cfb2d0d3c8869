// runLoad and grpcMixCaller against a real grpc-js server on port 0 that implements funnel.v1.SentimentService
// with scripted outcomes, so every count in the report can be checked exactly. Timing assertions are one-sided
// or loose (nothing here fails because the machine is busy).
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { SentimentServiceClient, SentimentServiceService, type AnalyzeRequest, type AnalyzeResponse } from "@funnel/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcMixCaller } from "./grpc-mix-caller.js";
import { pickEntry, serviceMix } from "./request-mixes.js";
import { runLoad } from "./run-load.js";

interface Seen {
  at: number;
  text: string;
}

let server: grpc.Server;
let address: string;
let client: SentimentServiceClient;
const seen: Seen[] = [];
let inFlight = 0;
let maxInFlight = 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Text "<i>|<delayMs>|<code>" scripts one call: wait delayMs, then answer OK (code 0) or that status. */
function scripted(i: number, delayMs: number, code = grpc.status.OK): AnalyzeRequest {
  return { text: `${i}|${delayMs}|${code}`, page: 0 };
}

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(SentimentServiceService, {
    analyze: async (call: grpc.ServerUnaryCall<AnalyzeRequest, AnalyzeResponse>, callback: grpc.sendUnaryData<AnalyzeResponse>) => {
      seen.push({ at: performance.now(), text: call.request.text });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const [, delay = "0", code = "0"] = call.request.text.split("|");
      // Texts from the real sentiment mix carry no script; "slow" ones stand for a model that stalls.
      const wait = call.request.text.includes("|") ? Number(delay) : call.request.text.includes("slow") ? 1_500 : 0;
      if (wait > 0) await sleep(wait);
      inFlight--;
      if (Number(code) !== grpc.status.OK) callback({ code: Number(code), details: `scripted ${grpc.status[Number(code)]}` });
      else callback(null, { result: undefined, model: { name: "stub", version: "1" } });
    },
    analyzeBatch: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      seen.push({ at: performance.now(), text: "batch" });
      callback(null, { results: [], model: undefined });
    },
    aggregateFeedback: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback({ code: grpc.status.UNIMPLEMENTED }),
  } as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  address = `127.0.0.1:${port}`;
  client = new SentimentServiceClient(address, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
});

const analyze = (request: AnalyzeRequest) =>
  new Promise<AnalyzeResponse>((resolve, reject) => client.analyze(request, (error, response) => (error ? reject(error) : resolve(response!))));

function reset(): void {
  seen.length = 0;
  maxInFlight = 0;
}

// Generous timeouts: CI machines are shared; nothing here asserts speed.
describe("runLoad, closed model", { timeout: 30_000 }, () => {
  it("makes exactly the requested calls, never more than `concurrency` at once, and counts each status", async () => {
    reset();
    const outcome = (i: number) => (i % 10 === 3 ? grpc.status.INVALID_ARGUMENT : i % 10 === 7 ? grpc.status.UNAVAILABLE : grpc.status.OK);
    const result = await runLoad({
      call: (i) => analyze(scripted(i, 2, outcome(i))),
      mode: { concurrency: 8 },
      requests: 200,
      group: (i) => (i % 2 === 0 ? "even" : "odd"),
    });
    expect(result.model).toBe("closed");
    expect(result.requests).toBe(200);
    expect(seen).toHaveLength(200);
    expect(result.codes).toEqual({ INVALID_ARGUMENT: 20, OK: 160, UNAVAILABLE: 20 });
    expect(result.ok).toBe(160);
    expect(result.errors).toBe(40);
    expect(result.errorRate).toBeCloseTo(0.2, 10);
    expect(result.errorSamples.UNAVAILABLE).toContain("scripted UNAVAILABLE");
    // i%10 is 3 or 7: both odd, so every error lands in the "odd" group.
    expect(result.groups?.even).toMatchObject({ requests: 100, errors: 0 });
    expect(result.groups?.odd).toMatchObject({ requests: 100, errors: 40, codes: { OK: 60, INVALID_ARGUMENT: 20, UNAVAILABLE: 20 } });
    expect(maxInFlight).toBeLessThanOrEqual(8);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(result.latencyMs.count).toBe(200);
    expect(result.latencyMs.p50Ms).toBeGreaterThanOrEqual(result.latencyMs.minMs);
    expect(result.latencyMs.p99Ms).toBeGreaterThanOrEqual(result.latencyMs.p50Ms);
    expect(result.latencyMs.maxMs).toBeGreaterThanOrEqual(result.latencyMs.p99Ms);
    // Every call waits 2 ms on the server, so no latency can be below it.
    expect(result.latencyMs.minMs).toBeGreaterThanOrEqual(1.9);
    expect(result.throughputPerSec).toBeCloseTo((200 / result.elapsedMs) * 1000, 1);
  });

  it("discards the warm-up and keeps counting call indices after it", async () => {
    reset();
    const indices: number[] = [];
    const result = await runLoad({
      call: (i) => {
        indices.push(i);
        return analyze(scripted(i, 1));
      },
      mode: { concurrency: 2 },
      requests: 30,
      warmupMs: 150,
    });
    expect(result.requests).toBe(30);
    const warmupCalls = indices.length - 30;
    expect(warmupCalls).toBeGreaterThan(0);
    expect(new Set(indices).size).toBe(indices.length);
    expect(Math.max(...indices)).toBe(indices.length - 1);
  });

  it("opens the measure hooks around exactly the measured calls, after the warm-up", async () => {
    reset();
    const events: string[] = [];
    let settled = 0;
    const result = await runLoad({
      call: async (i) => {
        events.push(`start ${i}`);
        await analyze(scripted(i, 1));
        settled++;
      },
      mode: { concurrency: 3 },
      requests: 12,
      warmupMs: 60,
      onMeasureStart: () => events.push(`measure-start after ${settled}`),
      onMeasureEnd: () => events.push(`measure-end after ${settled}`),
    });
    const startAt = events.findIndex((e) => e.startsWith("measure-start"));
    const endAt = events.findIndex((e) => e.startsWith("measure-end"));
    const warmupCalls = startAt;
    expect(warmupCalls).toBeGreaterThan(0);
    // Every warm-up call settled before the window opened; the window holds the counted calls, then it closes.
    expect(events[startAt]).toBe(`measure-start after ${warmupCalls}`);
    expect(events.slice(startAt + 1, endAt).length).toBe(result.requests);
    expect(endAt).toBe(events.length - 1);
    expect(events[endAt]).toBe(`measure-end after ${warmupCalls + result.requests}`);
  });

  it("a throw without a gRPC code is a CLIENT_ERROR, not a server status", async () => {
    const result = await runLoad({
      call: async (i) => {
        if (i === 1) throw new TypeError("bad request builder");
      },
      mode: { concurrency: 1 },
      requests: 3,
    });
    expect(result.codes).toEqual({ CLIENT_ERROR: 1, OK: 2 });
    expect(result.errorSamples.CLIENT_ERROR).toBe("bad request builder");
  });

  it("rejects modes that could not end or make no sense", async () => {
    const call = async () => undefined;
    await expect(runLoad({ call, mode: { concurrency: 0 }, requests: 1 })).rejects.toThrow(/concurrency must be an integer >= 1/);
    await expect(runLoad({ call, mode: { ratePerSec: 10 } })).rejects.toThrow(/give durationMs or requests/);
    await expect(runLoad({ call, mode: { startRatePerSec: 1, stages: [] } })).rejects.toThrow(/at least one stage/);
  });
});

describe("runLoad, open model", { timeout: 30_000 }, () => {
  it("starts calls on the arrival schedule, not all at once, and offers the configured rate", async () => {
    reset();
    const t0 = performance.now();
    const result = await runLoad({ call: (i) => analyze(scripted(i, 0)), mode: { ratePerSec: 200 }, durationMs: 1_000 });
    expect(result.model).toBe("open");
    expect(result.offeredRatePerSec).toBeCloseTo(200, 6);
    expect(result.requests + result.dropped).toBe(200);
    expect(result.dropped).toBe(0);
    expect(result.codes).toEqual({ OK: 200 });
    // The last call is due at 995 ms; starting it earlier would mean the schedule was not followed.
    expect(result.elapsedMs).toBeGreaterThanOrEqual(995);
    const firstHalf = seen.filter((s) => s.at - t0 < 500).length;
    expect(firstHalf).toBeGreaterThan(200 * 0.25);
    expect(firstHalf).toBeLessThan(200 * 0.75);
    expect(result.throughputPerSec).toBeLessThanOrEqual(201);
    expect(result.scheduleLagMs!.maxMs).toBeGreaterThanOrEqual(0);
  });

  it("ramps: the number of calls is the integral of the rate, and the ramp-up is sparser than the peak", async () => {
    reset();
    const t0 = performance.now();
    // 0 → 200/s over 500 ms (50 calls), then 200/s for 500 ms (100 calls).
    const result = await runLoad({
      call: (i) => analyze(scripted(i, 0)),
      mode: { startRatePerSec: 0, stages: [{ durationMs: 500, target: 200 }, { durationMs: 500, target: 200 }] },
    });
    expect(result.requests + result.dropped).toBe(150);
    expect(result.codes.OK).toBe(result.requests);
    const rampUp = seen.filter((s) => s.at - t0 < 500).length;
    expect(rampUp).toBeLessThan(150 / 2);
  });

  it("drops arrivals beyond maxInFlight and says how many, instead of queueing them", async () => {
    reset();
    const result = await runLoad({ call: (i) => analyze(scripted(i, 200)), mode: { ratePerSec: 100 }, durationMs: 500, maxInFlight: 5 });
    expect(result.requests + result.dropped).toBe(50);
    expect(result.dropped).toBeGreaterThan(0);
    expect(result.requests).toBeGreaterThanOrEqual(5);
    expect(maxInFlight).toBeLessThanOrEqual(5);
  });
});

describe("grpcMixCaller", { timeout: 30_000 }, () => {
  it("sends the sentiment mix by method share, and counts deadline misses as DEADLINE_EXCEEDED", async () => {
    reset();
    const mix = serviceMix("sentiment");
    const caller = grpcMixCaller({ target: address, mix, deadlineMs: 500, connections: 2 });
    try {
      const result = await runLoad({ call: caller.call, group: caller.method, mode: { concurrency: 8 }, requests: 300 });
      // What the mix itself says calls 0..299 are: which method, and which Analyze texts the server stalls on.
      const entries = Array.from({ length: 300 }, (_, i) => pickEntry(mix, i));
      const batches = entries.filter((e) => e.method === "SentimentService/AnalyzeBatch").length;
      const slow = entries.filter((e, i) => e.method === "SentimentService/Analyze" && String(e.request(i).text).includes("slow")).length;
      expect(slow).toBeGreaterThan(0);
      expect(result.requests).toBe(300);
      expect(result.groups?.["SentimentService/AnalyzeBatch"]?.requests).toBe(batches);
      expect(result.groups?.["SentimentService/Analyze"]?.requests).toBe(300 - batches);
      expect(result.codes).toEqual({ DEADLINE_EXCEEDED: slow, OK: 300 - slow });
      expect(seen.filter((s) => s.text === "batch")).toHaveLength(batches);
    } finally {
      caller.close();
    }
  });
});

describe("npm run loadtest (the CLI)", { timeout: 60_000 }, () => {
  it("prints one JSON report whose counts match the mix, and exits 99 exactly when a bound is crossed", async () => {
    reset();
    const main = fileURLToPath(new URL("./main.ts", import.meta.url));
    const args = ["--import", "tsx", main, "--target", address, "--scenario", "closed", "--concurrency", "4", "--requests", "60", "--warmup", "0", "--deadline-ms", "500", "--no-progress"];
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(process.execPath, args, { cwd: fileURLToPath(new URL("..", import.meta.url)) }, (error, out) => resolve({ code: error ? Number(error.code) : 0, stdout: out })),
    );
    const report = JSON.parse(stdout);
    const mix = serviceMix("sentiment");
    const slow = Array.from({ length: 60 }, (_, i) => pickEntry(mix, i)).filter((e, i) => e.method === "SentimentService/Analyze" && String(e.request(i).text).includes("slow")).length;
    expect(report.loadtest).toMatchObject({ target: address, service: "sentiment", scenario: { kind: "constant-vus", concurrency: 4 } });
    expect(report.result.requests).toBe(60);
    expect(report.result.codes).toEqual(slow > 0 ? { DEADLINE_EXCEEDED: slow, OK: 60 - slow } : { OK: 60 });
    expect(report.pass).toBe(report.failures.length === 0);
    expect(code).toBe(report.pass ? 0 : 99);
    expect(Array.isArray(report.warnings)).toBe(true);
  });
});
