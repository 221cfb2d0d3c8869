// The router → upstream hop over TLS against a real Sentiment service that requires mutual TLS and checks
// callers: the router proves itself with its client certificate (or with its own bearer token), the
// caller's own token stays between the caller and the router.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { PageType, SentimentServiceClient, type AnalyzeResponse } from "@funnel/proto";
import { generateToken, hashToken, runServices, type RunningServices } from "@funnel/runtime";
import { TestPki, type IssuedCertificate } from "@funnel/runtime/testing";
import { sentimentModule } from "@funnel/sentiment";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { routerModule } from "./router-module.js";

const CALLER_TOKEN = generateToken();
const ROUTER_TOKEN = generateToken();
let root: string;
let pki: TestPki;
let serverCert: IssuedCertificate;
let routerCert: IssuedCertificate;
let callersFile: string;
const quiet = ["--port", "0", "--metrics-port", "-1", "--log-level", "silent"];
const stops: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "router-tls-"));
  pki = new TestPki(path.join(root, "pki"));
  serverCert = pki.server("server");
  routerCert = pki.client("router", "funnel-router");
  callersFile = path.join(root, "callers.yaml");
  await writeFile(
    callersFile,
    `callers:
  - { name: shop-backend, roles: [client], tokens: ["${hashToken(CALLER_TOKEN)}"] }
  - { name: funnel-router, roles: [client], certificates: [funnel-router], tokens: ["${hashToken(ROUTER_TOKEN)}"] }
`,
  );
  await writeFile(path.join(root, "router.token"), `${ROUTER_TOKEN}\n`);
});

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

afterAll(() => rm(root, { recursive: true, force: true }));

const serverTls = () => ({ FUNNEL_TLS_CERT_FILE: serverCert.certFile, FUNNEL_TLS_KEY_FILE: serverCert.keyFile, FUNNEL_TLS_CLIENT_CA_FILE: pki.caFile });
const auth = { FUNNEL_AUTH: "true", FUNNEL_AUTH_CALLERS_FILE: "" };

async function start(upstreamEnv: Record<string, string>, sentimentEnv: Record<string, string> = {}): Promise<{ sentiment: RunningServices; router: RunningServices }> {
  const sentiment = await runServices([sentimentModule], { env: { ...serverTls(), ...auth, FUNNEL_AUTH_CALLERS_FILE: callersFile, ...sentimentEnv }, argv: quiet });
  stops.push(() => sentiment.shutdown());
  const experiments = path.join(root, `experiments-${sentiment.port}.yaml`);
  await writeFile(
    experiments,
    `experiments:\n  - name: sentiment\n    service: funnel.v1.SentimentService\n    salt: s\n    variants:\n      - { name: control, weight: 1, upstream: "127.0.0.1:${sentiment.port}" }\nupstreamDefaults: { retries: 0 }\n`,
  );
  const router = await runServices([routerModule], {
    env: { ...serverTls(), ...auth, FUNNEL_AUTH_CALLERS_FILE: callersFile, FUNNEL_ROUTER_EXPERIMENTS: experiments, ...upstreamEnv },
    argv: quiet,
  });
  stops.push(() => router.shutdown());
  return { sentiment, router };
}

function analyzeVia(port: number, token: string): Promise<AnalyzeResponse> {
  const client = new SentimentServiceClient(`127.0.0.1:${port}`, grpc.credentials.createSsl(readFileSync(pki.caFile)), { "grpc.ssl_target_name_override": "localhost" });
  stops.push(() => client.close());
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return new Promise((resolve, reject) =>
    client.analyze({ text: "love it", page: PageType.PAGE_TYPE_HOME }, metadata, { deadline: Date.now() + 10_000 }, (error, response) => (error ? reject(error) : resolve(response!))),
  );
}

const upstreamCa = { FUNNEL_ROUTER_UPSTREAM_TLS: "true", FUNNEL_ROUTER_UPSTREAM_TLS_CA_FILE: "", FUNNEL_ROUTER_UPSTREAM_TLS_SERVER_NAME: "localhost" };

describe("router → upstream over TLS", () => {
  it("reaches an upstream that requires mutual TLS with its client certificate, and is refused without it", async () => {
    const withCert = await start(
      { ...upstreamCa, FUNNEL_ROUTER_UPSTREAM_TLS_CA_FILE: pki.caFile, FUNNEL_ROUTER_UPSTREAM_TLS_CERT_FILE: routerCert.certFile, FUNNEL_ROUTER_UPSTREAM_TLS_KEY_FILE: routerCert.keyFile },
      { FUNNEL_TLS_REQUIRE_CLIENT_CERT: "true" },
    );
    const answer = await analyzeVia(withCert.router.port, CALLER_TOKEN);
    expect(answer.result?.label).toBeGreaterThan(0);
    // Without a client certificate a caller cannot reach the upstream directly, whatever token it holds.
    await expect(analyzeVia(withCert.sentiment.port, CALLER_TOKEN)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });

    const withoutCert = await start({ ...upstreamCa, FUNNEL_ROUTER_UPSTREAM_TLS_CA_FILE: pki.caFile }, { FUNNEL_TLS_REQUIRE_CLIENT_CERT: "true" });
    await expect(analyzeVia(withoutCert.router.port, CALLER_TOKEN)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it("authenticates to the upstream with its own token over one-way TLS", async () => {
    const withToken = await start({ ...upstreamCa, FUNNEL_ROUTER_UPSTREAM_TLS_CA_FILE: pki.caFile, FUNNEL_ROUTER_UPSTREAM_TOKEN_FILE: path.join(root, "router.token") });
    expect((await analyzeVia(withToken.router.port, CALLER_TOKEN)).result?.label).toBeGreaterThan(0);
    const withoutToken = await start({ ...upstreamCa, FUNNEL_ROUTER_UPSTREAM_TLS_CA_FILE: pki.caFile });
    await expect(analyzeVia(withoutToken.router.port, CALLER_TOKEN)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: expect.stringMatching(/no credentials/) });
  });

  it("refuses to start when a token would go to the upstreams in plaintext", async () => {
    await expect(start({ FUNNEL_ROUTER_UPSTREAM_TOKEN_FILE: path.join(root, "router.token") })).rejects.toThrow(/a token is never sent in plaintext/);
  });
});
