import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "./config.js";
import { runServices } from "./service-module.js";

const blockers: Server[] = [];

/** Holds a real port open on 127.0.0.1, as another process would. */
async function busyPort(): Promise<number> {
  const blocker = createServer();
  blockers.push(blocker);
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  return (blocker.address() as { port: number }).port;
}

afterEach(async () => {
  await Promise.all(blockers.splice(0).map((blocker) => new Promise((resolve) => blocker.close(resolve))));
});

describe("runServices start-up", () => {
  it("refuses a busy metrics port with a ConfigError naming --metrics-port, and releases the gRPC port", async () => {
    const port = await busyPort();
    const failure = await runServices([], { env: {}, argv: ["--port", "0", "--metrics-port", String(port), "--log-level", "silent"] }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as Error).message).toBe(
      `--metrics-port (env FUNNEL_METRICS_PORT): port ${port} on 127.0.0.1 is already in use by another process; choose another port, or 0 for a free one, or -1 to turn metrics off`,
    );
  });

  it("refuses a busy gRPC port with a ConfigError naming --port", async () => {
    const port = await busyPort();
    const failure = await runServices([], { env: {}, argv: ["--port", String(port), "--metrics-port", "-1", "--log-level", "silent"] }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as Error).message).toMatch(new RegExp(`^--port \\(env FUNNEL_PORT\\): port ${port} on 127\\.0\\.0\\.1 is already in use by another process; choose another port, or 0 for a free one$`));
  });
});
