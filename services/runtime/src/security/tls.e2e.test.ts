// TLS of the serving runtime against real certificates (made with openssl): one-way TLS, mutual TLS, and a
// certificate renewed on disk while the server runs.
import { copyFileSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect } from "node:tls";
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { SentimentResult, SentimentServiceClient, SentimentServiceService, type AnalyzeResponse } from "@funnel/proto";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ServingServer } from "../serving-server.js";
import { TestPki, checkHealth, type IssuedCertificate } from "../testing/index.js";
import { SECURITY_OFF, type SecurityConfig } from "./security-settings.js";

let dir: string;
let pki: TestPki;
let serverCert: IssuedCertificate;
let clientCert: IssuedCertificate;
let strangerCert: IssuedCertificate;
const running: { server: ServingServer; client?: grpc.Client }[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "funnel-tls-"));
  pki = new TestPki(path.join(dir, "pki"));
  serverCert = pki.server("server");
  clientCert = pki.client("client", "funnel-router");
  strangerCert = new TestPki(path.join(dir, "other"), "other-ca").client("stranger", "funnel-router");
});

afterEach(async () => {
  for (const { server, client } of running.splice(0)) {
    client?.close();
    await server.shutdown();
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const answer = (text: string): AnalyzeResponse => ({ result: SentimentResult.fromPartial({ ruleSetVersion: text }), model: { name: "fixture", version: "1" } });

async function start(tls: Partial<SecurityConfig["tls"]>, options: { host?: string; reloadMs?: number; lines?: string[] } = {}) {
  const lines = options.lines ?? [];
  const log = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
  const server = new ServingServer({
    config: { host: options.host ?? "127.0.0.1", port: 0, metricsPort: -1, maxMessageBytes: 1 << 20, shutdownGraceMs: 1_000 },
    log,
    security: { ...SECURITY_OFF, tls: { ...SECURITY_OFF.tls, ...tls }, reloadMs: options.reloadMs ?? 5_000 },
  });
  const name = server.addService(SentimentServiceService, {
    analyze: async (request) => answer(request.text),
    analyzeBatch: async () => ({ results: [], model: undefined }),
    aggregateFeedback: async () => ({ overall: undefined, byPage: [], byUser: [], byDevice: [], byHour: [], byDay: [], model: undefined }),
  });
  const { port, healthPort } = await server.start();
  server.setReady(name, true);
  running.push({ server });
  return { server, port, healthPort, lines };
}

function tlsCredentials(client?: IssuedCertificate, ca = pki.caFile): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(readFileSync(ca), client ? readFileSync(client.keyFile) : null, client ? readFileSync(client.certFile) : null);
}

function analyze(port: number, credentials: grpc.ChannelCredentials, text = "hello"): Promise<AnalyzeResponse> {
  // The certificate names localhost; the address is 127.0.0.1 (also in the certificate) to avoid IPv6 lookups.
  const client = new SentimentServiceClient(`127.0.0.1:${port}`, credentials, { "grpc.ssl_target_name_override": "localhost" });
  running.at(-1)!.client ??= client;
  return new Promise((resolve, reject) =>
    client.analyze({ text, page: 0 }, new grpc.Metadata(), { deadline: Date.now() + 5_000 }, (error, response) => {
      if (client !== running.at(-1)!.client) client.close();
      error ? reject(error) : resolve(response!);
    }),
  );
}

/** The fingerprint of the certificate the server presents to a new TLS connection. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca: readFileSync(pki.caFile), servername: "localhost", ALPNProtocols: ["h2"] }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fingerprint);
    });
    socket.on("error", reject);
  });
}

describe("server TLS", () => {
  it("answers a client that verifies the server's certificate, and refuses a plaintext client", async () => {
    const { port, server } = await start({ certFile: serverCert.certFile, keyFile: serverCert.keyFile });
    expect((await analyze(port, tlsCredentials())).result?.ruleSetVersion).toBe("hello");
    expect(await servedFingerprint(port)).toBe(server.tlsFingerprint);
    await expect(analyze(port, grpc.credentials.createInsecure())).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it("with mutual TLS required, refuses a client without a certificate or with one from another CA", async () => {
    const { port } = await start({ certFile: serverCert.certFile, keyFile: serverCert.keyFile, clientCaFile: pki.caFile, requireClientCert: true });
    expect((await analyze(port, tlsCredentials(clientCert))).result?.ruleSetVersion).toBe("hello");
    await expect(analyze(port, tlsCredentials())).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await expect(analyze(port, tlsCredentials(strangerCert))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it("serves a renewed certificate without a restart, and keeps the old one while the new key does not match", async () => {
    const live = { certFile: path.join(dir, "live.crt"), keyFile: path.join(dir, "live.key") };
    copyFileSync(serverCert.certFile, live.certFile);
    copyFileSync(serverCert.keyFile, live.keyFile);
    const lines: string[] = [];
    const { port, server } = await start(live, { reloadMs: 100, lines });
    const before = await servedFingerprint(port);
    expect(before).toBe(server.tlsFingerprint);

    const renewed = pki.server("renewed");
    // A Secret update swaps files by rename; here the certificate lands first, its key a moment later.
    replace(renewed.certFile, live.certFile);
    await waitFor(() => lines.some((line) => line.includes("cannot be used")));
    expect(await servedFingerprint(port)).toBe(before);
    expect((await analyze(port, tlsCredentials(), "mid-rotation")).result?.ruleSetVersion).toBe("mid-rotation");

    replace(renewed.keyFile, live.keyFile);
    await waitFor(() => server.tlsFingerprint !== before);
    const after = await servedFingerprint(port);
    expect(after).not.toBe(before);
    expect(after).toBe(server.tlsFingerprint);
    expect((await analyze(port, tlsCredentials(), "renewed")).result?.ruleSetVersion).toBe("renewed");
    // The key never reaches a log line.
    expect(lines.join("\n")).not.toContain(readFileSync(renewed.keyFile, "utf8").split("\n")[1]);
  });

  it("answers health, and only health, in plaintext on --health-port for probes that cannot speak TLS", async () => {
    const { port, healthPort } = await start({ certFile: serverCert.certFile, keyFile: serverCert.keyFile, healthPort: 0 });
    expect(healthPort).toBeGreaterThan(0);
    expect(healthPort).not.toBe(port);
    expect(await checkHealth(`127.0.0.1:${healthPort}`, "funnel.v1.SentimentService")).toBe("SERVING");
    await expect(analyze(healthPort!, grpc.credentials.createInsecure())).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });

  it("warns once when it serves plaintext on a non-loopback address, and not on loopback", async () => {
    const wide = await start({}, { host: "0.0.0.0" });
    expect(wide.lines.filter((line) => line.includes("plaintext gRPC on a non-loopback address"))).toHaveLength(1);
    const loopback = await start({});
    expect(loopback.lines.join("\n")).not.toContain("non-loopback");
  });

  it("refuses to start with half a TLS configuration, naming the missing setting", () => {
    const log = pino({ level: "silent" });
    const config = { host: "127.0.0.1", port: 0, metricsPort: -1, maxMessageBytes: 1 << 20, shutdownGraceMs: 1_000 };
    expect(() => new ServingServer({ config, log, security: { ...SECURITY_OFF, tls: { ...SECURITY_OFF.tls, certFile: serverCert.certFile } } })).toThrow(/--tls-key-file/);
    expect(
      () => new ServingServer({ config, log, security: { ...SECURITY_OFF, tls: { ...SECURITY_OFF.tls, ...serverCert, requireClientCert: true } } }),
    ).toThrow(/--tls-client-ca-file/);
  });
});

function replace(source: string, target: string): void {
  const staged = `${target}.staged`;
  copyFileSync(source, staged);
  renameSync(staged, target);
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
