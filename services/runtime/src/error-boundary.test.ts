import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { errorToStatus } from "./error-boundary.js";
import { NotFoundError, ResourceExhaustedError, ServiceError } from "./errors.js";
import { createLogger } from "./logger.js";
import { MicroBatcher } from "./micro-batcher.js";

const logged: unknown[] = [];
const warned: unknown[] = [];
const log = createLogger("silent");
log.error = ((obj: unknown) => void logged.push(obj)) as typeof log.error;
log.warn = ((obj: unknown) => void warned.push(obj)) as typeof log.warn;

/** Shaped like the feature encoders' error: a library without gRPC that declares its status on the class. */
class FeatureEncodingError extends Error {
  readonly grpcStatus = "INVALID_ARGUMENT" as const;
}

class AliasMissing extends Error {
  readonly grpcStatus = "NOT_FOUND" as const;
}

describe("errorToStatus", () => {
  it("keeps a ServiceError's code and message", () => {
    expect(errorToStatus(new NotFoundError("model two-tower has no alias production"), log)).toMatchObject({
      code: status.NOT_FOUND,
      details: "model two-tower has no alias production",
    });
    expect(errorToStatus(new ResourceExhaustedError("too many"), log).code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it("maps errors that name their status, as the registry's errors do", () => {
    expect(errorToStatus(new AliasMissing('alias "production" is not set'), log)).toMatchObject({
      code: status.NOT_FOUND,
      details: 'alias "production" is not set',
    });
  });

  it("maps a feature encoding error to INVALID_ARGUMENT by the status its class declares", () => {
    expect(errorToStatus(new FeatureEncodingError("users[2].sessionCount: must be >= 0, got -1"), log)).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "users[2].sessionCount: must be >= 0, got -1",
    });
  });

  it("answers a full batch queue with RESOURCE_EXHAUSTED and the standard retry pushback trailer", async () => {
    const batcher = new MicroBatcher<number, number>({ maxBatchSize: 10, maxDelayMs: 20, maxQueue: 1, run: async (xs) => xs });
    const first = batcher.submit(1);
    const full = await batcher.submit(2).catch((e: unknown) => e);
    await first;
    const answer = errorToStatus(full, log);
    expect(answer.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(answer.details).toBe("server is over capacity: batch queue is full (1 waiting); retry in about 40 ms");
    expect(answer.metadata?.get("grpc-retry-pushback-ms")).toEqual(["40"]);
  });

  it("logs the cause of a known error server-side and never sends it", () => {
    warned.length = 0;
    const secret = new Error("ENOENT: /srv/registry/two-tower/7/towers.onnx");
    const answer = errorToStatus(new NotFoundError("model two-tower has no version 7", { cause: secret }), log);
    expect(answer).toMatchObject({ code: status.NOT_FOUND, details: "model two-tower has no version 7" });
    expect(answer.details).not.toContain("ENOENT");
    expect(warned).toEqual([expect.objectContaining({ code: "NOT_FOUND", err: expect.objectContaining({ cause: secret }) })]);
    errorToStatus(new NotFoundError("no cause"), log);
    expect(warned).toHaveLength(1);
  });

  it("answers unknown and internal errors with generic text and logs them", () => {
    logged.length = 0;
    const unknown = errorToStatus(new TypeError("cannot read x of undefined at /srv/secret.ts"), log);
    expect(unknown).toMatchObject({ code: status.INTERNAL, details: "internal error; the server logged the details" });
    const internal = errorToStatus(new ServiceError(status.INTERNAL, "db password wrong"), log);
    expect(internal.details).not.toContain("password");
    const bogus = Object.assign(new Error("x"), { grpcStatus: "NOT_A_STATUS" });
    expect(errorToStatus(bogus, log).code).toBe(status.INTERNAL);
    expect(errorToStatus("a string", log).code).toBe(status.INTERNAL);
    expect(logged).toHaveLength(4);
  });
});
