// No secret in a log line, an error message, trailing metadata or a metric: a process with a pseudonym salt
// from a file and token authentication serves an authenticated call, a refused one (a token one character
// off) and a failing one at trace level; everything it wrote or answered is searched for the token and salt.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { SentimentResult, SentimentServiceClient, SentimentServiceService } from "@funnel/proto";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { ConfigError } from "../config.js";
import { runServices, type ServiceModule } from "../service-module.js";
import { generateToken, hashToken } from "./callers-file.js";

const TOKEN = generateToken();
const SALT = `salt-${generateToken()}`;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "funnel-secrets-"));
  writeFileSync(path.join(dir, "salt"), `${SALT}\n`);
  writeFileSync(path.join(dir, "callers.yaml"), `callers:\n  - name: shop-backend\n    roles: [client]\n    tokens: ["${hashToken(TOKEN)}"]\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Echoes a pseudonym made with the configured salt; "boom" fails with a cause, as a broken dependency would. */
const fixture: ServiceModule = {
  name: "fixture",
  namespace: "fixture",
  settings: {},
  register(server, _config, log, shared) {
    const salt = shared.models.pseudonymSaltOr("development");
    const name = server.addService(SentimentServiceService, {
      analyze: async (request, ctx) => {
        ctx.log.debug({ text: request.text }, "analyzing");
        if (request.text === "boom") throw new Error("dependency failed", { cause: new Error("connection reset") });
        return { result: SentimentResult.fromPartial({ ruleSetVersion: String(salt.length) }), model: undefined };
      },
      analyzeBatch: async () => ({ results: [], model: undefined }),
      aggregateFeedback: async () => ({ overall: undefined, byPage: [], byUser: [], byDevice: [], byHour: [], byDay: [], model: undefined }),
    });
    return async () => {
      log.info("loaded");
      server.setReady(name, true);
    };
  },
};

it("never writes or answers the token or the salt", async () => {
  const written: string[] = [];
  const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => written.push(String(chunk)) > 0);
  const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => written.push(String(chunk)) > 0);
  const answered: string[] = [];
  try {
    const running = await runServices([fixture], {
      env: { FUNNEL_PSEUDONYM_SALT_FILE: path.join(dir, "salt"), FUNNEL_AUTH: "true", FUNNEL_AUTH_CALLERS_FILE: path.join(dir, "callers.yaml") },
      argv: ["--port", "0", "--metrics-port", "0", "--log-level", "trace"],
      log: pino({ level: "trace" }, { write: (line: string) => written.push(line) }),
    });
    const client = new SentimentServiceClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
    const call = (token: string, text: string) =>
      new Promise<void>((resolve) => {
        const metadata = new grpc.Metadata();
        metadata.set("authorization", `Bearer ${token}`);
        const request = client.analyze({ text, page: 0 }, metadata, (error, response) => {
          answered.push(JSON.stringify({ error: error && { code: error.code, details: error.details, metadata: error.metadata?.toJSON() }, response }));
          resolve();
        });
        request.on("metadata", (headers) => answered.push(JSON.stringify(headers.toJSON())));
        request.on("status", (status) => answered.push(JSON.stringify(status.metadata.toJSON())));
      });
    await call(TOKEN, "fine");
    await call(`${TOKEN}x`, "refused");
    await call(TOKEN, "boom");
    answered.push(await (await fetch(`http://127.0.0.1:${running.metricsPort}/metrics`)).text());
    client.close();
    await running.shutdown();
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  const everything = [...written, ...answered].join("\n");
  // The calls happened and were logged (so the search below searched something).
  expect(everything).toContain('"caller":"shop-backend"');
  expect(everything).toContain("call refused");
  expect(everything).toContain("UNAUTHENTICATED");
  expect(everything).toContain(`"ruleSetVersion":"${SALT.length}"`);
  expect(everything).toContain("funnel_grpc_requests_total");
  expect(everything).not.toContain(TOKEN);
  expect(everything).not.toContain(SALT);
});

it("names the settings, not the salt, when the salt is given twice", async () => {
  const failure = await runServices([fixture], {
    env: { FUNNEL_PSEUDONYM_SALT: SALT, FUNNEL_PSEUDONYM_SALT_FILE: path.join(dir, "salt") },
    argv: ["--port", "0", "--metrics-port", "-1", "--log-level", "silent"],
  }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(ConfigError);
  expect((failure as Error).message).toMatch(/FUNNEL_PSEUDONYM_SALT and FUNNEL_PSEUDONYM_SALT_FILE are both set/);
  expect((failure as Error).message).not.toContain(SALT);
});
