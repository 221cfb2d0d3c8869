// Caller authentication, per-method authorization and per-caller limits on a real server: bearer tokens
// from a callers file (stored hashed), client-certificate identities over mutual TLS, closed reflection, a
// reloaded callers file, and a greedy caller limited while another is still served.
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { ModelStatusServiceClient, ModelStatusServiceService, SentimentResult, SentimentServiceClient, SentimentServiceService } from "@funnel/proto";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ServingServer } from "../serving-server.js";
import { TestPki, checkHealth, listServicesByReflection, type IssuedCertificate } from "../testing/index.js";
import { generateToken, hashToken } from "./callers-file.js";
import { SECURITY_OFF, type SecurityConfig } from "./security-settings.js";

const TOKENS = { shop: generateToken(), ops: generateToken(), greedy: generateToken(), later: generateToken() };
let dir: string;
let callersFile: string;
let pki: TestPki;
let serverCert: IssuedCertificate;
let routerCert: IssuedCertificate;
let unknownCert: IssuedCertificate;
const open: { server: ServingServer; clients: grpc.Client[] }[] = [];

function callersYaml(extra = ""): string {
  return `callers:
  - name: shop-backend
    roles: [client]
    tokens: ["${hashToken(TOKENS.shop)}"]
  - name: ml-ops
    roles: [operator]
    tokens: ["${hashToken(TOKENS.ops)}"]
  - name: greedy-batch-job
    roles: [client]
    tokens: ["${hashToken(TOKENS.greedy)}"]
  - name: funnel-router
    roles: [client]
    certificates: [funnel-router]
${extra}methods:
  SentimentService/AnalyzeBatch: [operator]
`;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "funnel-auth-"));
  callersFile = path.join(dir, "callers.yaml");
  writeFileSync(callersFile, callersYaml());
  pki = new TestPki(path.join(dir, "pki"));
  serverCert = pki.server("server");
  routerCert = pki.client("router", "funnel-router");
  unknownCert = pki.client("unknown", "someone-else");
});

afterEach(async () => {
  for (const { server, clients } of open.splice(0)) {
    for (const client of clients) client.close();
    await server.shutdown();
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(security: Partial<SecurityConfig> = {}, lines: string[] = []) {
  const server = new ServingServer({
    config: { host: "127.0.0.1", port: 0, metricsPort: -1, maxMessageBytes: 1 << 20, shutdownGraceMs: 1_000 },
    log: pino({ level: "debug" }, { write: (line: string) => lines.push(line) }),
    security: { ...SECURITY_OFF, auth: { ...SECURITY_OFF.auth, enabled: true, callersFile }, reloadMs: 100, ...security },
  });
  const sentiment = server.addService(SentimentServiceService, {
    analyze: async (request) => {
      if (request.text.startsWith("slow:")) await new Promise((resolve) => setTimeout(resolve, Number(request.text.slice(5))));
      return { result: SentimentResult.fromPartial({ ruleSetVersion: request.text }), model: undefined };
    },
    analyzeBatch: async () => ({ results: [], model: undefined }),
    aggregateFeedback: async () => ({ overall: undefined, byPage: [], byUser: [], byDevice: [], byHour: [], byDay: [], model: undefined }),
  });
  const status = server.addService(ModelStatusServiceService, { listModels: async () => ({ models: [] }), getDrift: async () => ({ models: [] }) });
  const { port } = await server.start();
  server.setReady(sentiment, true);
  server.setReady(status, true);
  const entry = { server, clients: [] as grpc.Client[] };
  open.push(entry);
  const address = `127.0.0.1:${port}`;
  const client = <C extends grpc.Client>(Client: new (address: string, credentials: grpc.ChannelCredentials, options?: object) => C, credentials = grpc.credentials.createInsecure()): C => {
    const made = new Client(address, credentials, { "grpc.ssl_target_name_override": "localhost" });
    entry.clients.push(made);
    return made;
  };
  return { server, address, client, lines };
}

function bearer(token: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

type Outcome = { code: grpc.status; details: string; pushbackMs?: string };

function analyze(client: SentimentServiceClient, metadata = new grpc.Metadata(), text = "hi"): Promise<Outcome> {
  return new Promise((resolve) =>
    client.analyze({ text, page: 0 }, metadata, { deadline: Date.now() + 5_000 }, (error) =>
      resolve(error ? { code: error.code, details: error.details, pushbackMs: error.metadata?.get("grpc-retry-pushback-ms")[0] as string | undefined } : { code: grpc.status.OK, details: "" }),
    ),
  );
}

function listModels(client: ModelStatusServiceClient, metadata: grpc.Metadata): Promise<Outcome> {
  return new Promise((resolve) => client.listModels({}, metadata, (error) => resolve(error ? { code: error.code, details: error.details } : { code: grpc.status.OK, details: "" })));
}

describe("caller authentication", () => {
  it("lets a known token in, and answers UNAUTHENTICATED or PERMISSION_DENIED saying what to fix", async () => {
    const { client } = await start();
    const sentiment = client(SentimentServiceClient);
    const status = client(ModelStatusServiceClient);
    expect(await analyze(sentiment, bearer(TOKENS.shop))).toEqual({ code: grpc.status.OK, details: "" });

    const none = await analyze(sentiment);
    expect(none.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(none.details).toMatch(/authorization: Bearer <token>/);
    const wrong = await analyze(sentiment, bearer(`${TOKENS.shop}x`));
    expect(wrong.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(wrong.details).toMatch(/not known to this server/);
    expect(wrong.details).not.toContain(TOKENS.shop);
    const malformed = new grpc.Metadata();
    malformed.set("authorization", TOKENS.shop);
    expect((await analyze(sentiment, malformed)).details).toMatch(/must be one value "Bearer <token>"/);

    // ListModels is operator-only by default; AnalyzeBatch by the file's own rule.
    const denied = await listModels(status, bearer(TOKENS.shop));
    expect(denied).toEqual({
      code: grpc.status.PERMISSION_DENIED,
      details: 'caller "shop-backend" (roles: client) may not call ModelStatusService/ListModels; it needs one of the roles: operator',
    });
    expect(await listModels(status, bearer(TOKENS.ops))).toEqual({ code: grpc.status.OK, details: "" });
    const batch = await new Promise<grpc.ServiceError | null>((resolve) => sentiment.analyzeBatch({ items: [] }, bearer(TOKENS.shop), (error) => resolve(error)));
    expect(batch?.code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it("identifies a mutual-TLS caller by its certificate name, and refuses a certificate no caller owns", async () => {
    const tls = { ...SECURITY_OFF.tls, certFile: serverCert.certFile, keyFile: serverCert.keyFile, clientCaFile: pki.caFile };
    const { client } = await start({ tls });
    const credentials = (cert?: IssuedCertificate) =>
      grpc.credentials.createSsl(readFileSync(pki.caFile), cert ? readFileSync(cert.keyFile) : null, cert ? readFileSync(cert.certFile) : null);
    expect((await analyze(client(SentimentServiceClient, credentials(routerCert)))).code).toBe(grpc.status.OK);
    const stranger = await analyze(client(SentimentServiceClient, credentials(unknownCert)));
    expect(stranger.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(stranger.details).toMatch(/client certificate \(someone-else\) belongs to no caller/);
    // TLS without a client certificate (not required here): a token still works.
    expect((await analyze(client(SentimentServiceClient, credentials()), bearer(TOKENS.shop))).code).toBe(grpc.status.OK);
    expect((await analyze(client(SentimentServiceClient, credentials()))).code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("identifies a caller only by a certificate made for client authentication (clientAuth EKU)", async () => {
    const tls = { ...SECURITY_OFF.tls, certFile: serverCert.certFile, keyFile: serverCert.keyFile, clientCaFile: pki.caFile };
    const { client } = await start({ tls });
    const credentials = (cert: IssuedCertificate) => grpc.credentials.createSsl(readFileSync(pki.caFile), readFileSync(cert.keyFile), readFileSync(cert.certFile));
    // cert-manager's default: a serving certificate with no extended key usage, whose SANs name the router.
    // TLS accepts it from a client; it must not authenticate as the router (and gain its operator role).
    const noEku = pki.client("router-no-eku", "funnel-router", "none");
    const refused = await analyze(client(SentimentServiceClient, credentials(noEku)));
    expect(refused.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(refused.details).toMatch(/client certificate \(funnel-router\) does not carry the clientAuth extended key usage/);
    // With a token beside it, the token decides (the token's caller, not the certificate's names).
    expect((await analyze(client(SentimentServiceClient, credentials(noEku)), bearer(TOKENS.shop))).code).toBe(grpc.status.OK);
    // The same names with clientAuth: the router.
    expect((await analyze(client(SentimentServiceClient, credentials(routerCert)))).code).toBe(grpc.status.OK);
    // openssl makes a certificate and three TLS handshakes run: seconds on a busy 2-core machine.
  }, 20_000);

  it("keeps health open and reflection closed by default, each configurable", async () => {
    const closed = await start();
    expect(await checkHealth(closed.address)).toBe("SERVING");
    await expect(listServicesByReflection(closed.address)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });

    const opened = await start({ auth: { enabled: true, callersFile, healthOpen: false, reflectionOpen: true } });
    await expect(checkHealth(opened.address)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(await checkHealth(opened.address, "", undefined, bearer(TOKENS.shop))).toBe("SERVING");
    expect(await listServicesByReflection(opened.address)).toContain("funnel.v1.SentimentService");
  });

  it("takes a changed callers file without a restart; a broken one leaves the last good one in force", async () => {
    const lines: string[] = [];
    const { client } = await start({}, lines);
    const sentiment = client(SentimentServiceClient);
    expect((await analyze(sentiment, bearer(TOKENS.later))).code).toBe(grpc.status.UNAUTHENTICATED);

    swap(callersFile, "callers: [oops");
    await waitFor(() => lines.some((line) => line.includes("callers file changed but cannot be used")));
    expect((await analyze(sentiment, bearer(TOKENS.shop))).code).toBe(grpc.status.OK);

    swap(callersFile, callersYaml(`  - name: new-service\n    roles: [client]\n    tokens: ["${hashToken(TOKENS.later)}"]\n`));
    await waitFor(() => lines.some((line) => line.includes("callers file reloaded")));
    expect((await analyze(sentiment, bearer(TOKENS.later))).code).toBe(grpc.status.OK);
    swap(callersFile, callersYaml());
  });
});

describe("per-caller limits", () => {
  it("gives a greedy caller RESOURCE_EXHAUSTED with a retry hint while another caller is still answered", async () => {
    const { client } = await start({ limits: { ratePerSecond: 5, burst: 5, maxConcurrent: 0 } });
    const greedy = client(SentimentServiceClient);
    const polite = client(SentimentServiceClient);
    const started = performance.now();
    const greedyCalls = Array.from({ length: 40 }, () => analyze(greedy, bearer(TOKENS.greedy)));
    const politeCalls = [analyze(polite, bearer(TOKENS.shop)), analyze(polite, bearer(TOKENS.shop)), analyze(polite, bearer(TOKENS.shop))];
    const greedyOutcomes = await Promise.all(greedyCalls);
    const seconds = (performance.now() - started) / 1000;
    const exhausted = greedyOutcomes.filter((outcome) => outcome.code === grpc.status.RESOURCE_EXHAUSTED);
    // The burst of 5, plus 5 per second the calls took to arrive; every other call is refused.
    expect(40 - exhausted.length).toBeLessThanOrEqual(5 + Math.ceil(5 * seconds));
    expect(40 - exhausted.length).toBeGreaterThanOrEqual(5);
    expect(Number(exhausted[0]!.pushbackMs)).toBeGreaterThan(0);
    expect(exhausted[0]!.details).toMatch(/caller "greedy-batch-job" is over its limit of 5 calls\/s/);
    expect((await Promise.all(politeCalls)).map((outcome) => outcome.code)).toEqual([grpc.status.OK, grpc.status.OK, grpc.status.OK]);
  });

  it("bounds each caller's calls in flight without holding up another caller", async () => {
    const { client } = await start({ limits: { ratePerSecond: 0, burst: 0, maxConcurrent: 2 } });
    const greedy = client(SentimentServiceClient);
    const polite = client(SentimentServiceClient);
    const slow = [analyze(greedy, bearer(TOKENS.greedy), "slow:400"), analyze(greedy, bearer(TOKENS.greedy), "slow:400")];
    await new Promise((resolve) => setTimeout(resolve, 100));
    const third = await analyze(greedy, bearer(TOKENS.greedy));
    expect(third.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(third.details).toMatch(/already has 2 calls in flight/);
    expect((await analyze(polite, bearer(TOKENS.shop))).code).toBe(grpc.status.OK);
    expect((await Promise.all(slow)).map((outcome) => outcome.code)).toEqual([grpc.status.OK, grpc.status.OK]);
    expect((await analyze(greedy, bearer(TOKENS.greedy))).code).toBe(grpc.status.OK);
  });

  it("limits callers by address when authentication is off", async () => {
    const { client } = await start({ auth: SECURITY_OFF.auth, limits: { ratePerSecond: 0.5, burst: 2, maxConcurrent: 0 } });
    const started = performance.now();
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => analyze(client(SentimentServiceClient))));
    const ok = outcomes.filter((outcome) => outcome.code === grpc.status.OK).length;
    expect(ok).toBeGreaterThanOrEqual(2);
    expect(ok).toBeLessThanOrEqual(2 + Math.floor((0.5 * (performance.now() - started)) / 1000));
    expect(outcomes.find((outcome) => outcome.code === grpc.status.RESOURCE_EXHAUSTED)?.details).toMatch(/caller "127\.0\.0\.1"/);
  });
});

function swap(file: string, text: string): void {
  writeFileSync(`${file}.staged`, text);
  renameSync(`${file}.staged`, file);
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
