// Upstream against a real grpc-js server on port 0 whose behaviour each test scripts: retries, deadlines,
// the circuit breaker.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { UpstreamPolicy } from "./experiment-config.js";
import { Upstream, UpstreamFailure } from "./upstream.js";

const PATH = "/test.Echo/Call";
const identity = (b: Buffer) => b;
const ECHO = { call: { path: PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } };
let server: grpc.Server;
let port: number;
/** What the server does with call n (1-based): answer, fail with a code, or wait. */
let script: (n: number) => { code?: grpc.status; delayMs?: number };
let calls = 0;
let lastDeadlineMs: number | undefined;

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(
    ECHO,
    {
      call: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const deadline = call.getDeadline();
        lastDeadlineMs = deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : undefined;
        const step = script(++calls);
        setTimeout(() => (step.code ? callback({ code: step.code, details: `scripted ${grpc.status[step.code]}` }) : callback(null, Buffer.concat([Buffer.from("echo:"), call.request]))), step.delayMs ?? 0);
      },
    },
  );
  port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
});

afterAll(() => server.forceShutdown());

beforeEach(() => {
  calls = 0;
  script = () => ({});
});

const policy = (overrides: Partial<UpstreamPolicy> = {}): UpstreamPolicy => ({
  deadlineMs: 2_000,
  retries: 1,
  circuitBreaker: { failureRate: 0.5, openSeconds: 30, minCalls: 4 },
  ...overrides,
});
const call = (idempotent: boolean, deadline?: Date) => ({ path: PATH, metadata: new grpc.Metadata(), deadline, idempotent });

describe("Upstream", () => {
  it("forwards bytes through a dns:/// round-robin channel", async () => {
    const upstream = new Upstream(`dns:///127.0.0.1:${port}`, policy());
    expect((await upstream.unary(Buffer.from("hi"), call(true))).toString()).toBe("echo:hi");
    upstream.close();
  });

  it("balances calls round robin over every address of the target (pick_first would pin one)", async () => {
    const second = new grpc.Server();
    let secondCalls = 0;
    second.addService(
      ECHO,
      { call: (_: unknown, callback: grpc.sendUnaryData<Buffer>) => (secondCalls++, callback(null, Buffer.from("second"))) },
    );
    const secondPort = await new Promise<number>((resolve, reject) => second.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    // What DNS gives for a headless Service with two ready pods: two addresses behind one target.
    const upstream = new Upstream(`ipv4:127.0.0.1:${port},127.0.0.1:${secondPort}`, policy());
    for (let i = 0; i < 20; i++) await upstream.unary(Buffer.from("x"), call(true));
    expect(calls).toBeGreaterThanOrEqual(8);
    expect(secondCalls).toBeGreaterThanOrEqual(8);
    upstream.close();
    second.forceShutdown();
  });

  it("retries an idempotent call on UNAVAILABLE, never a non-idempotent one, never other codes", async () => {
    const upstream = new Upstream(`127.0.0.1:${port}`, policy({ circuitBreaker: { failureRate: 1, openSeconds: 30, minCalls: 100 } }));
    script = (n) => (n === 1 ? { code: grpc.status.UNAVAILABLE } : {});
    expect((await upstream.unary(Buffer.from("a"), call(true))).toString()).toBe("echo:a");
    expect(calls).toBe(2);
    calls = 0;
    await expect(upstream.unary(Buffer.from("b"), call(false))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(calls).toBe(1);
    calls = 0;
    script = () => ({ code: grpc.status.INVALID_ARGUMENT });
    await expect(upstream.unary(Buffer.from("c"), call(true))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: "scripted INVALID_ARGUMENT" });
    expect(calls).toBe(1);
    upstream.close();
  });

  it("passes the caller's earlier deadline on, and its own when the caller has none", async () => {
    const upstream = new Upstream(`127.0.0.1:${port}`, policy({ deadlineMs: 5_000 }));
    const callerDeadline = new Date(Date.now() + 300);
    await upstream.unary(Buffer.from("x"), call(true, callerDeadline));
    expect(Math.abs(lastDeadlineMs! - callerDeadline.getTime())).toBeLessThan(100);
    const before = Date.now();
    await upstream.unary(Buffer.from("x"), call(true));
    expect(lastDeadlineMs! - before).toBeGreaterThan(4_800);
    script = () => ({ delayMs: 500 });
    await expect(upstream.unary(Buffer.from("slow"), call(true, new Date(Date.now() + 100)))).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    upstream.close();
  });

  it("opens its circuit after repeated upstream faults, but not for caller errors", async () => {
    const upstream = new Upstream(`127.0.0.1:${port}`, policy({ retries: 0 }));
    script = () => ({ code: grpc.status.NOT_FOUND });
    for (let i = 0; i < 6; i++) await upstream.unary(Buffer.from("x"), call(true)).catch(() => undefined);
    expect(upstream.circuitOpen).toBe(false);
    script = () => ({ code: grpc.status.INTERNAL });
    for (let i = 0; i < 10; i++) await upstream.unary(Buffer.from("x"), call(true)).catch(() => undefined);
    expect(upstream.circuitOpen).toBe(true);
    calls = 0;
    const refused = await upstream.unary(Buffer.from("x"), call(true)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UpstreamFailure);
    expect(refused).toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringContaining("circuit open") });
    expect(calls).toBe(0);
    upstream.close();
  });
});
