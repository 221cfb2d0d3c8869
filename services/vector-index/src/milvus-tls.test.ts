// Milvus over TLS: milvus-lite speaks plaintext gRPC, so a TLS terminator (a few lines of node:tls, as an
// ingress or sidecar would be in a cluster) stands in front of it with a certificate from a test CA.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { TestPki } from "@funnel/runtime/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { VectorStoreUnavailableError } from "./errors.js";
import { MilvusCatalog } from "./milvus-catalog.js";

const address = inject("milvusAddress");
let dir: string;
let pki: TestPki;
let terminator: tls.Server;
let tlsAddress: string;
const sockets = new Set<net.Socket>();

describe.skipIf(!address)("MilvusCatalog over TLS", () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "milvus-tls-"));
    pki = new TestPki(dir);
    const server = pki.server("milvus");
    const [host, port] = [address!.slice(0, address!.lastIndexOf(":")), Number(address!.slice(address!.lastIndexOf(":") + 1))];
    terminator = tls.createServer({ cert: readFileSync(server.certFile), key: readFileSync(server.keyFile), ALPNProtocols: ["h2"] }, (socket) => {
      const upstream = net.connect(port, host);
      sockets.add(socket).add(upstream);
      socket.pipe(upstream).pipe(socket);
      socket.on("error", () => upstream.destroy());
      upstream.on("error", () => socket.destroy());
    });
    await new Promise<void>((resolve) => terminator.listen(0, "127.0.0.1", resolve));
    tlsAddress = `127.0.0.1:${(terminator.address() as net.AddressInfo).port}`;
  });

  afterAll(async () => {
    // The SDK's pooled channels may outlive close(); the test's own sockets are ended here.
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => terminator?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("talks to Milvus through TLS verified against the given CA", async () => {
    const catalog = new MilvusCatalog({ address: tlsAddress, tls: { caFile: pki.caFile, serverName: "localhost" } });
    await expect(catalog.ping()).resolves.toBeUndefined();
    await catalog.close();
  });

  it("is UNAVAILABLE when it speaks plaintext to the TLS port or does not trust the certificate", async () => {
    const plaintext = new MilvusCatalog({ address: tlsAddress, timeoutMs: 2_000 });
    await expect(plaintext.ping()).rejects.toBeInstanceOf(VectorStoreUnavailableError);
    await plaintext.close();
    const untrusted = new MilvusCatalog({ address: tlsAddress, timeoutMs: 2_000, tls: { caFile: new TestPki(path.join(dir, "other"), "other-ca").caFile, serverName: "localhost" } });
    await expect(untrusted.ping()).rejects.toBeInstanceOf(VectorStoreUnavailableError);
    await untrusted.close();
  });
});
