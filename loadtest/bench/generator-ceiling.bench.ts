// What the generator itself can drive, in one run: runLoad against a plain grpc-js server whose Analyze does no
// work (the ceiling any funnel service is measured against), closed model at concurrency 1/16/64 and open
// model at a fixed rate (its schedule lag says whether the generator kept the rate). Prints JSON.
import * as grpc from "@grpc/grpc-js";
import { SentimentServiceClient, SentimentServiceService, type AnalyzeRequest, type AnalyzeResponse } from "@funnel/proto";
import { Command } from "commander";
import { runLoad, type LoadMode } from "../src/run-load.js";

async function startCeilingServer(): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  const answer: AnalyzeResponse = { result: undefined, model: { name: "ceiling", version: "0" } };
  server.addService(SentimentServiceService, {
    analyze: (_call: grpc.ServerUnaryCall<AnalyzeRequest, AnalyzeResponse>, callback: grpc.sendUnaryData<AnalyzeResponse>) => callback(null, answer),
  } as unknown as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { server, port };
}

async function main(): Promise<void> {
  const options = new Command()
    .option("--duration-ms <ms>", "measured window per run", "3000")
    .option("--warmup-ms <ms>", "warm-up per run", "1000")
    .option("--rate <per-second>", "open-model rate", "500")
    .parse()
    .opts<{ durationMs: string; warmupMs: string; rate: string }>();
  const durationMs = Number(options.durationMs);
  const warmupMs = Number(options.warmupMs);
  const { server, port } = await startCeilingServer();
  const client = new SentimentServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const request: AnalyzeRequest = { text: "fine", page: 0 };
  const call = () => new Promise<void>((resolve, reject) => client.analyze(request, (error) => (error ? reject(error) : resolve())));
  const run = async (mode: LoadMode) => {
    const r = await runLoad({ call, mode, durationMs, warmupMs });
    return { mode, requests: r.requests, errors: r.errors, throughputPerSec: Math.round(r.throughputPerSec), latencyMs: r.latencyMs, dropped: r.dropped, scheduleLagMs: r.scheduleLagMs };
  };
  try {
    const closed = [];
    for (const concurrency of [1, 16, 64]) closed.push(await run({ concurrency }));
    const open = await run({ ratePerSec: Number(options.rate) });
    process.stdout.write(`${JSON.stringify({ benchmark: "loadtest-generator-ceiling", durationMs, warmupMs, closed, open }, null, 2)}\n`);
  } finally {
    client.close();
    server.forceShutdown();
  }
}

await main();
