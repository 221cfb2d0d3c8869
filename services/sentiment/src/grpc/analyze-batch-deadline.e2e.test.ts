// A big AnalyzeBatch whose deadline passes must stop scoring, not run to the end for nobody: counted through
// the analyzer's cache lookups (one per scored text) on the real server's metrics registry.
import * as grpc from "@grpc/grpc-js";
import { PageType, SentimentServiceClient, type AnalyzeBatchResponse } from "@funnel/proto";
import { runServices, type RunningServices } from "@funnel/runtime";
import type { Counter } from "prom-client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { sentimentModule } from "../sentiment-module.js";

const ITEMS = 8_000;
let running: RunningServices;
let client: SentimentServiceClient;

beforeAll(async () => {
  running = await runServices([sentimentModule], {
    env: {},
    argv: ["--port", "0", "--metrics-port", "-1", "--log-level", "silent", "--sentiment-max-batch", String(ITEMS), "--max-message-bytes", String(16 * 1024 * 1024)],
  });
  client = new SentimentServiceClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await running?.server.shutdown();
});

async function textsScored(): Promise<number> {
  const counter = running.server.metrics.registry.getSingleMetric("funnel_cache_lookups_total") as Counter | undefined;
  const values = (await counter?.get())?.values ?? [];
  return values.reduce((sum, value) => sum + value.value, 0);
}

const batchOf = (prefix: string) =>
  // Distinct texts, so every item is really scored (no cache hits), each long enough to cost something.
  Array.from({ length: ITEMS }, (_, i) => ({
    text: `${prefix} order ${i}: the checkout was slow and the payment page kept failing, but support was very helpful in the end`,
    page: PageType.PAGE_TYPE_PAYMENT,
  }));

const analyzeBatch = (items: ReturnType<typeof batchOf>, deadlineMs: number) =>
  new Promise<grpc.ServiceError | AnalyzeBatchResponse>((resolve) =>
    client.analyzeBatch({ items }, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (e, response) => resolve(e ?? response!)),
  );

it("stops scoring a big AnalyzeBatch once its deadline has passed", async () => {
  // Calibrate on this machine: the whole batch without a deadline (after a warm-up run, so JIT compilation
  // does not inflate it); then a third of that time as the deadline, so the call expires in the middle of
  // scoring (after transport and validation, well before the end).
  await analyzeBatch(batchOf("warm-up"), 60_000);
  const started = Date.now();
  const full = await analyzeBatch(batchOf("calibrate"), 60_000);
  expect(full).toMatchObject({ results: expect.any(Array) });
  const fullMs = Date.now() - started;

  const before = await textsScored();
  const answer = await analyzeBatch(batchOf("expire"), fullMs / 3);
  expect(answer).toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
  const atDeadline = (await textsScored()) - before;
  // Give a handler that ignored the deadline time to run on, then check it did not.
  await new Promise((resolve) => setTimeout(resolve, fullMs));
  const after = (await textsScored()) - before;
  expect(atDeadline, `fullMs ${fullMs}, after ${after}`).toBeGreaterThan(0);
  expect(after).toBeLessThan(ITEMS);
  // At most one check interval (32 texts) after the answer went out.
  expect(after - atDeadline).toBeLessThanOrEqual(32);
}, 30_000);
