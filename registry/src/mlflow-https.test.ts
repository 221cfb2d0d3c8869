// The registry → MLflow hop over HTTPS with basic auth: an HTTPS front (as an ingress or the MLflow auth
// proxy would be) with a self-signed certificate checks the credentials and forwards to the real MLflow.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { readRegistryConfig, registryFromConfig } from "./config.js";
import { RegistryUnavailableError } from "./errors.js";
import { MlflowApiError } from "./mlflow-client.js";

const mlflowUrl = inject("mlflowUrl");
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;

describe.skipIf(mlflowUrl === null)("MLflow registry over HTTPS", () => {
  let dir: string;
  let front: https.Server;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "mlflow-https-"));
    const [cert, key] = [path.join(dir, "front.crt"), path.join(dir, "front.key")];
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert], { stdio: "ignore" });
    writeFileSync(path.join(dir, "password"), `${PASSWORD}\n`);
    const expected = `Basic ${Buffer.from(`ci:${PASSWORD}`).toString("base64")}`;
    const upstream = new URL(mlflowUrl!);
    front = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error_code: "UNAUTHENTICATED", message: "wrong credentials" }));
        return;
      }
      const forwarded = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forwarded.on("error", () => res.writeHead(502).end());
      req.pipe(forwarded);
    });
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    env = {
      FUNNEL_REGISTRY: "mlflow",
      MLFLOW_TRACKING_URI: `https://localhost:${(front.address() as AddressInfo).port}`,
      MLFLOW_TRACKING_SERVER_CERT_PATH: cert,
      MLFLOW_TRACKING_USERNAME: "ci",
      MLFLOW_TRACKING_PASSWORD_FILE: path.join(dir, "password"),
    };
  });

  afterAll(async () => {
    front?.closeAllConnections();
    await new Promise((resolve) => front?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists models through HTTPS verified against the given CA, with the password from a file", async () => {
    await expect(registryFromConfig(readRegistryConfig(env, dir), { retries: 0 }).listModels()).resolves.toBeInstanceOf(Array);
  });

  it("refuses a server certificate it cannot verify, and reports a wrong password without repeating it", async () => {
    const { MLFLOW_TRACKING_SERVER_CERT_PATH: _ca, ...withoutCa } = env;
    const untrusted = await registryFromConfig(readRegistryConfig(withoutCa, dir), { retries: 0 }).listModels().catch((e: unknown) => e);
    expect(untrusted).toBeInstanceOf(RegistryUnavailableError);
    expect((untrusted as Error).message).toMatch(/SELF_SIGNED|self.signed/i);

    const { MLFLOW_TRACKING_PASSWORD_FILE: _file, ...withoutFile } = env;
    const wrong = await registryFromConfig(readRegistryConfig({ ...withoutFile, MLFLOW_TRACKING_PASSWORD: "not-it" }, dir), { retries: 0 }).listModels().catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(MlflowApiError);
    expect((wrong as MlflowApiError).status).toBe(401);
    expect((wrong as Error).message).not.toContain("not-it");
  });

  it("refuses credentials in the URL and half a basic-auth setup, naming the settings", () => {
    expect(() => readRegistryConfig({ ...env, MLFLOW_TRACKING_URI: `https://ci:${PASSWORD}@localhost:1` }, dir)).toThrow(/must not carry credentials; set MLFLOW_TRACKING_USERNAME/);
    expect(() => readRegistryConfig({ ...env, MLFLOW_TRACKING_URI: `https://ci:${PASSWORD}@localhost:1` }, dir)).not.toThrow(new RegExp(PASSWORD));
    const { MLFLOW_TRACKING_PASSWORD_FILE: _file, ...userOnly } = env;
    expect(() => readRegistryConfig(userOnly, dir)).toThrow(/needs both MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD/);
  });
});
