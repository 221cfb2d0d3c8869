// Fault injection: SIGTERM while the embedded platform (a real process) is under load. It must stop taking
// new calls (UNAVAILABLE: retry elsewhere), finish the calls in flight, and exit 0 within its grace period;
// no call may end in CANCELLED, INTERNAL or UNKNOWN, or hang past its deadline.
import * as grpc from "@grpc/grpc-js";
import { grpcMixCaller, runLoad, serviceMix, startEmbeddedPlatform, statusName, type EmbeddedPlatform } from "@funnel/loadtest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const USERS = 150;
let platform: EmbeddedPlatform;

beforeAll(async () => {
  platform = await startEmbeddedPlatform({ firstRunUsers: USERS, firstRunEpochs: 1 });
}, 300_000);

afterAll(async () => {
  await platform?.stop();
});

describe("the embedded platform on SIGTERM under load", () => {
  it("drains the calls in flight, refuses new ones with UNAVAILABLE, and exits 0", async () => {
    const mix = { users: USERS, items: 1_500, coldStartShare: 0.2 };
    const callers = (["sentiment", "embedding", "recommendation"] as const).map((service) =>
      grpcMixCaller({ target: platform.target, mix: serviceMix(service, mix), deadlineMs: 5_000 }),
    );
    const calls: { start: number; end: number; code: string }[] = [];
    let sigtermAt = Number.POSITIVE_INFINITY;
    const signal = setTimeout(() => {
      sigtermAt = performance.now();
      process.kill(platform.process.pid, "SIGTERM");
    }, 2_000);
    const load = runLoad({
      call: async (i) => {
        const start = performance.now();
        let code = "OK";
        try {
          await callers[i % callers.length]!.call(Math.floor(i / callers.length));
        } catch (error) {
          code = statusName(error);
        }
        calls.push({ start, end: performance.now(), code });
      },
      mode: { concurrency: 16 },
      durationMs: 5_000,
    });
    const exited = await platform.process.exited;
    const exitedAt = performance.now();
    await load;
    clearTimeout(signal);
    for (const caller of callers) caller.close();

    const codes: Record<string, number> = {};
    for (const call of calls) codes[call.code] = (codes[call.code] ?? 0) + 1;
    console.log(`sigterm under load: ${JSON.stringify({ calls: calls.length, codes, exitMsAfterSigterm: Math.round(exitedAt - sigtermAt), exited })}`);
    expect(exited).toEqual({ code: 0, signal: null });
    // Default grace period 10 s; draining a few calls takes far less.
    expect(exitedAt - sigtermAt).toBeLessThan(10_000);
    expect(Object.keys(codes).filter((code) => code !== "OK" && code !== "UNAVAILABLE")).toEqual([]);
    // Calls that were running when the signal came finished normally.
    const inFlight = calls.filter((c) => c.start < sigtermAt && c.end > sigtermAt);
    expect(inFlight.length).toBeGreaterThan(0);
    expect(inFlight.filter((c) => c.code === "OK").length).toBeGreaterThan(0);
    expect(calls.filter((c) => c.start < sigtermAt && c.code === "OK").length).toBeGreaterThan(10);
    // After the exit, a call fails fast instead of hanging.
    const client = new grpc.Client(platform.target, grpc.credentials.createInsecure());
    const started = performance.now();
    const after = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.makeUnaryRequest("/grpc.health.v1.Health/Check", (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), { deadline: Date.now() + 3_000 }, (error) => resolve(error)),
    );
    client.close();
    expect(after?.code).toBe(grpc.status.UNAVAILABLE);
    expect(performance.now() - started).toBeLessThan(3_000);
  }, 60_000);
});
