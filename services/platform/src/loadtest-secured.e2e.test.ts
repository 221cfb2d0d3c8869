// `npm run loadtest` against the platform as the secured deployment serves it (TLS, callers with tokens): with
// the CA, the server name and a caller's token every call answers OK; without the token every call is
// UNAUTHENTICATED and the run fails its bounds; a token without TLS is refused before any call is sent.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { generateToken, hashToken } from "@funnel/runtime";
import { TestPki } from "@funnel/runtime/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const loadtestMain = fileURLToPath(new URL("../../../loadtest/src/main.ts", import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), "loadtest-secured-"));
let child: ChildProcess | undefined;
let port: number;
let ca: string;
const token = generateToken();
const tokenFile = path.join(dir, "caller.token");

beforeAll(async () => {
  const pki = new TestPki(path.join(dir, "pki"));
  ca = pki.caFile;
  // A serving certificate for funnel-router (and 127.0.0.1); the client names the one it expects, as through a port-forward.
  const server = pki.server("server", ["funnel-router"]);
  writeFileSync(tokenFile, `${token}\n`);
  const callers = path.join(dir, "callers.yaml");
  writeFileSync(callers, `callers:\n  - { name: load-test, roles: [client], tokens: ["${hashToken(token)}"] }\n`);
  const args = [
    ...["--port", "0", "--metrics-port", "-1", "--tls-cert-file", server.certFile, "--tls-key-file", server.keyFile, "--auth", "true", "--auth-callers-file", callers],
    ...["--registry-dir", path.join(dir, "registry"), "--model-cache-dir", path.join(dir, "cache"), "--first-run-users", "150", "--first-run-epochs", "1"],
  ];
  child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...args], { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"] });
  const logs: string[] = [];
  child.stderr!.on("data", (chunk: Buffer) => logs.push(chunk.toString()));
  port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`platform did not start:\n${logs.join("\n")}`)), 240_000);
    createInterface({ input: child!.stdout! }).on("line", (line) => {
      logs.push(line);
      if (!line.includes("gRPC server listening")) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
    child!.once("exit", (code) => reject(new Error(`platform exited with ${code}:\n${logs.join("\n")}`)));
  });
}, 300_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

function loadtest(flags: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = ["--import", "tsx", loadtestMain, "--target", `127.0.0.1:${port}`, "--service", "sentiment", "--rate", "20", "--duration", "2s", "--warmup", "500ms", "--no-progress", ...flags];
  return new Promise((resolve) => {
    const run = execFile(process.execPath, args, { cwd: packageDir, maxBuffer: 8 * 1024 * 1024 }, (_error, stdout, stderr) => resolve({ code: run.exitCode, stdout, stderr }));
  });
}

describe("npm run loadtest against a TLS platform with caller tokens", () => {
  it("with --ca-file, --server-name and --token-file: every call OK, within the bounds", async () => {
    const run = await loadtest(["--ca-file", ca, "--server-name", "funnel-router", "--token-file", tokenFile]);
    const report = JSON.parse(run.stdout) as { loadtest: { tls: boolean; token: boolean }; result: { requests: number; codes: Record<string, number> } };
    expect(report.loadtest).toMatchObject({ tls: true, token: true });
    expect(report.result.requests).toBeGreaterThanOrEqual(30);
    expect(report.result.codes).toEqual({ OK: report.result.requests });
  }, 120_000);

  it("without the token: UNAUTHENTICATED, and the run fails its error bound (exit 99)", async () => {
    const run = await loadtest(["--ca-file", ca, "--server-name", "funnel-router"]);
    const report = JSON.parse(run.stdout) as { result: { requests: number; codes: Record<string, number> } };
    expect(report.result.codes).toEqual({ UNAUTHENTICATED: report.result.requests });
    expect(run.code).toBe(99);
  }, 120_000);

  it("a token without TLS is refused before any call", async () => {
    const run = await loadtest(["--token-file", tokenFile]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/--token-file needs TLS/);
  }, 60_000);
});
