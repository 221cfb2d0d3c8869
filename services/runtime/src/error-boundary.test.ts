import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { errorToStatus } from "./error-boundary.js";
import { NotFoundError, ResourceExhaustedError, ServiceError } from "./errors.js";
import { createLogger } from "./logger.js";

const logged: unknown[] = [];
const log = createLogger("silent");
log.error = ((obj: unknown) => void logged.push(obj)) as typeof log.error;

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
