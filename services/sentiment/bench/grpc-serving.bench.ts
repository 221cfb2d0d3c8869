// Served cost of the Sentiment service over real gRPC on loopback, in one run: unary calls with the
// response cache cold and warm, and AnalyzeBatch on unseen texts. Prints JSON.
import * as grpc from "@grpc/grpc-js";
import { PageType, SentimentServiceClient, type AnalyzeRequest } from "@funnel/proto";
import { runServices } from "@funnel/runtime";
import { Command } from "commander";
import { sentimentModule } from "../src/sentiment-module.js";

const PAGES = [PageType.PAGE_TYPE_HOME, PageType.PAGE_TYPE_SEARCH, PageType.PAGE_TYPE_PRODUCT, PageType.PAGE_TYPE_PAYMENT, PageType.PAGE_TYPE_CONFIRMATION];

/** Distinct shopper-style texts, so a cold pass never hits the cache. */
function texts(count: number): AnalyzeRequest[] {
  const verdicts = ["was great", "was not good at all", "charged me twice!!", "is sooo slow", "found exactly what I wanted 😍", "never sent a confirmation"];
  return Array.from({ length: count }, (_, i) => ({ text: `Order ${i}: the site ${verdicts[i % verdicts.length]}`, page: PAGES[i % PAGES.length]! }));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function drive(total: number, concurrency: number, once: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        await once(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { calls: total, seconds, callsPerSecond: total / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

async function main(): Promise<void> {
  const options = new Command()
    .option("--texts <n>", "distinct texts", "4000")
    .option("--concurrency <n>", "calls in flight", "32")
    .option("--batch <n>", "texts per AnalyzeBatch call", "64")
    .parse()
    .opts<{ texts: string; concurrency: string; batch: string }>();
  const count = Number(options.texts);
  const concurrency = Number(options.concurrency);
  const batchSize = Number(options.batch);
  // The second half of the texts is kept apart for the batch pass, so that it too runs uncached.
  const all = texts(2 * count);
  const requests = all.slice(0, count);
  const batchRequests = all.slice(count);

  const running = await runServices([sentimentModule], {
    env: {},
    argv: ["--port", "0", "--metrics-port", "-1", "--log-level", "silent", "--sentiment-max-batch", String(batchSize)],
  });
  const client = new SentimentServiceClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
  const unary = (i: number) =>
    new Promise<void>((resolve, reject) => client.analyze(requests[i % count]!, (e) => (e ? reject(e) : resolve())));
  try {
    await drive(500, concurrency, unary); // warm-up: connection, JIT; texts 0..499 now cached
    const cold = await drive(count - 500, concurrency, (i) => unary(i + 500));
    const warm = await drive(count, concurrency, unary);
    const batches = Math.ceil(count / batchSize);
    const batch = await drive(batches, Math.max(1, Math.floor(concurrency / 8)), (b) =>
      new Promise<void>((resolve, reject) =>
        client.analyzeBatch({ items: batchRequests.slice(b * batchSize, (b + 1) * batchSize) }, (e) => (e ? reject(e) : resolve())),
      ),
    );
    const textsPerSecond = { unaryCold: cold.callsPerSecond, unaryCached: warm.callsPerSecond, batchCold: count / batch.seconds };
    process.stdout.write(
      `${JSON.stringify(
        {
          benchmark: "sentiment-grpc-serving",
          texts: count,
          concurrency,
          batchSize,
          unaryCold: cold,
          unaryCached: warm,
          batch,
          textsPerSecond,
          ratios: {
            cachedVsCold: textsPerSecond.unaryCached / textsPerSecond.unaryCold,
            batchVsUnaryCold: textsPerSecond.batchCold / textsPerSecond.unaryCold,
          },
          node: process.version,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    client.close();
    await running.server.shutdown();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
