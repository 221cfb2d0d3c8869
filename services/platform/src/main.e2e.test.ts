// The embedded platform as an operator runs it: a real process, real port, SIGTERM to stop.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { PageType, SentimentLabel, SentimentServiceClient, type AnalyzeResponse } from "@funnel/proto";
import { checkHealth } from "@funnel/runtime/testing";
import { afterEach, describe, expect, it } from "vitest";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
let child: ChildProcess | undefined;

afterEach(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
});

function startPlatform(args: string[]): Promise<{ port: number; logs: string[] }> {
  child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...args], { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"] });
  const logs: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`platform did not start:\n${logs.join("\n")}`)), 60_000);
    createInterface({ input: child!.stdout! }).on("line", (line) => {
      logs.push(line);
      const entry = JSON.parse(line) as { msg: string; port?: number };
      if (entry.msg === "gRPC server listening") {
        clearTimeout(timer);
        resolve({ port: entry.port!, logs });
      }
    });
    child!.stderr!.on("data", (chunk: Buffer) => logs.push(chunk.toString()));
    child!.on("exit", (code) => reject(new Error(`platform exited with ${code}:\n${logs.join("\n")}`)));
  });
}

describe("embedded platform process", () => {
  it("serves Sentiment on one port and drains and exits 0 on SIGTERM", async () => {
    const { port, logs } = await startPlatform(["--port", "0", "--metrics-port", "-1"]);
    const address = `127.0.0.1:${port}`;
    let health = await checkHealth(address, "");
    for (let i = 0; i < 100 && health !== "SERVING"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      health = await checkHealth(address, "");
    }
    expect(health).toBe("SERVING");

    const client = new SentimentServiceClient(address, grpc.credentials.createInsecure());
    const response = await new Promise<AnalyzeResponse>((resolve, reject) =>
      client.analyze({ text: "my payment was declined twice", page: PageType.PAGE_TYPE_PAYMENT }, (e, r) => (e ? reject(e) : resolve(r!))),
    );
    client.close();
    expect(response.result?.label).toBe(SentimentLabel.SENTIMENT_LABEL_NEGATIVE);

    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    child!.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(logs.some((line) => line.includes('"msg":"server stopped"'))).toBe(true);
    // Start-up loads the rule scorer with its spelling dictionary; allow what startPlatform allows.
  }, 90_000);

  it("refuses to start on a bad setting, naming it", async () => {
    await expect(startPlatform(["--port", "70000"])).rejects.toThrow(/configuration error: invalid flag --port \(port\): must be between 0 and 65535/);
  });
});
