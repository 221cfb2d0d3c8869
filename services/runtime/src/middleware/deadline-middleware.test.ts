import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { CallContext } from "../call-context.js";
import { createLogger } from "../logger.js";
import { chainServerMiddleware } from "../server-middleware.js";
import { deadlineMiddleware } from "./deadline-middleware.js";

const method = { service: "s.S", name: "S/M", path: "/s.S/M", requestStream: false };
const log = createLogger("silent");
const context = (inMs?: number) => new CallContext("S/M", new Metadata(), log, inMs === undefined ? undefined : new Date(Date.now() + inMs));

describe("deadlineMiddleware", () => {
  it("answers DEADLINE_EXCEEDED when each call's deadline passes, in deadline order, and stops the call", async () => {
    const never = chainServerMiddleware([deadlineMiddleware], () => new Promise(() => undefined));
    const expired: number[] = [];
    const started = Date.now();
    const calls = [120, 40, 80].map((ms) => {
      const ctx = context(ms);
      return never({ method, request: ms }, ctx).catch((error: Error) => {
        expired.push(ms);
        expect(error.name).toBe("DeadlineExceededError");
        expect(ctx.stoppedBy).toBe(error);
        expect(Date.now() - started).toBeGreaterThanOrEqual(ms - 5);
      });
    });
    await Promise.all(calls);
    expect(expired).toEqual([40, 80, 120]);
  });

  it("lets a call that answers in time through, and one without a deadline untouched", async () => {
    const quick = chainServerMiddleware([deadlineMiddleware], async (call) => call.request);
    const ctx = context(1_000);
    await expect(quick({ method, request: "fast" }, ctx)).resolves.toBe("fast");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ctx.stoppedBy).toBeUndefined();
    await expect(quick({ method, request: "no deadline" }, context())).resolves.toBe("no deadline");
  });

  it("refuses a call whose deadline has already passed", async () => {
    const run = chainServerMiddleware([deadlineMiddleware], async () => "ran");
    await expect(run({ method, request: undefined }, context(-10))).rejects.toMatchObject({ name: "DeadlineExceededError" });
  });
});
