import { describe, expect, it } from "vitest";
import { CallerLimits } from "./caller-limits.js";
import { DEFAULT_METHOD_ROLES, hashToken, parseCallersFile } from "./callers-file.js";

const HASH = hashToken("a-long-random-token-for-tests");

describe("parseCallersFile", () => {
  it("indexes callers by token hash and certificate name, the file's method rules over the defaults", () => {
    const file = parseCallersFile(`callers:
  - { name: shop, roles: [client], tokens: ["${HASH}"] }
  - { name: router, roles: [client, operator], certificates: [funnel-router, spiffe://funnel/router] }
methods:
  SentimentService/AnalyzeBatch: [operator]
  ModelStatusService/ListModels: ["*"]
`);
    expect(file.byTokenHash.get(HASH)).toEqual({ name: "shop", roles: ["client"] });
    expect(file.byCertificateName.get("spiffe://funnel/router")?.name).toBe("router");
    expect(file.methodRoles["SentimentService/AnalyzeBatch"]).toEqual(["operator"]);
    expect(file.methodRoles["ModelStatusService/ListModels"]).toEqual(["*"]);
    expect(file.methodRoles["SimilarityService/UpsertUserVectors"]).toEqual(DEFAULT_METHOD_ROLES["SimilarityService/UpsertUserVectors"]);
  });

  it.each([
    ["a token in clear", `callers:\n  - { name: a, roles: [client], tokens: [my-token] }`, /callers\.0\.tokens\.0: a token is stored as "sha256:<64 hex digits>"/],
    ["a caller without roles", `callers:\n  - { name: a, roles: [], tokens: ["${HASH}"] }`, /callers\.0\.roles: give the caller at least one role/],
    ["one token for two callers", `callers:\n  - { name: a, roles: [x], tokens: ["${HASH}"] }\n  - { name: b, roles: [x], tokens: ["${HASH}"] }`, /one token hash is listed for "a" and "b"/],
    ["an unknown key", `callers:\n  - { name: a, roles: [x], token: ["${HASH}"] }`, /callers\.0/],
    ["a bad method name", `callers:\n  - { name: a, roles: [x] }\nmethods:\n  Analyze: [x]`, /a method is "Service\/Method"/],
  ])("refuses %s, naming the problem", (_case, text, message) => {
    expect(() => parseCallersFile(text)).toThrow(message);
  });

  it("reports a YAML syntax error by line and column, never quoting the file (a pasted token would be logged)", () => {
    const pasted = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c";
    const text = `callers:\n  - { name: a, roles: [client], tokens: ["${HASH}"] }\n  - { name: b, roles: [client], tokens: ["${pasted}] }\n`;
    let message = "";
    try {
      parseCallersFile(text);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^not valid YAML at line \d+, column \d+ \(MISSING_CHAR\); fix the syntax there$/);
    expect(message).not.toContain(pasted.slice(0, 12));
  });
});

describe("CallerLimits", () => {
  it("refills each caller's bucket at the rate, separately, and says when to retry", () => {
    let now = 0;
    const limits = new CallerLimits({ ratePerSecond: 2, burst: 2, maxConcurrent: 0, now: () => now });
    limits.acquire("a")();
    limits.acquire("a")();
    expect(() => limits.acquire("a")).toThrow(expect.objectContaining({ retryAfterMs: 500 }));
    limits.acquire("b")();
    now = 500;
    limits.acquire("a")();
    expect(() => limits.acquire("a")).toThrow(/over its limit of 2 calls\/s \(burst 2\); retry after 500 ms/);
  });

  it("frees a concurrency slot once, however often release is called", () => {
    const limits = new CallerLimits({ ratePerSecond: 0, burst: 0, maxConcurrent: 1 });
    const release = limits.acquire("a");
    expect(() => limits.acquire("a")).toThrow(/already has 1 calls in flight/);
    release();
    release();
    const again = limits.acquire("a");
    expect(() => limits.acquire("a")).toThrow(/in flight/);
    again();
  });
});
