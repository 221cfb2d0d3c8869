// One gRPC server for the unary-ceiling benchmark: the real Sentiment service, a plain grpc-js server that
// answers every Analyze with one fixed response (the transport ceiling), or the runtime's ServingServer
// (all its middleware) answering with that same fixed response (the runtime's own cost, without scoring). Run as a child process
// by unary-ceiling.bench.ts, or imported to run in the client's own process.
import * as grpc from "@grpc/grpc-js";
import { SentimentServiceService, type AnalyzeResponse } from "@funnel/proto";
import { ServingServer, createLogger, runServices } from "@funnel/runtime";
import { sentimentModule } from "../src/sentiment-module.js";

export type Target = "plain" | "runtime" | "service";

export interface RunningTarget {
  port: number;
  close(): Promise<void>;
}

/** Starts the target on a free loopback port. `fixed` is the plain server's one answer. */
export async function startTarget(target: Target, fixed: AnalyzeResponse, logLevel = "info"): Promise<RunningTarget> {
  if (target === "service") {
    const running = await runServices([sentimentModule], {
      env: {},
      argv: ["--port", "0", "--metrics-port", "-1", "--log-level", logLevel],
    });
    return { port: running.port, close: () => running.server.shutdown() };
  }
  if (target === "runtime") {
    const server = new ServingServer({
      config: { host: "127.0.0.1", port: 0, metricsPort: -1, maxMessageBytes: 4 * 1024 * 1024, shutdownGraceMs: 1_000 },
      log: createLogger(logLevel),
    });
    const unavailable = () => Promise.reject(new Error("not part of the benchmark"));
    const name = server.addService(SentimentServiceService, { analyze: async () => fixed, analyzeBatch: unavailable, aggregateFeedback: unavailable });
    const { port } = await server.start();
    server.setReady(name, true);
    return { port, close: () => server.shutdown() };
  }
  const server = new grpc.Server();
  const unimplemented = (_: unknown, callback: grpc.sendUnaryData<unknown>) => callback({ code: grpc.status.UNIMPLEMENTED });
  server.addService(SentimentServiceService, {
    analyze: (_call: grpc.ServerUnaryCall<unknown, AnalyzeResponse>, callback: grpc.sendUnaryData<AnalyzeResponse>) => callback(null, fixed),
    analyzeBatch: unimplemented,
    aggregateFeedback: unimplemented,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return { port, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

// As a child process (spawned with an IPC channel): the parent sends the fixed response, the child answers
// with the bound port, and exits when the parent disconnects. Logs go to stdout as in production.
if (process.send && process.argv[2]) {
  const target = process.argv[2] as Target;
  process.once("message", (fixed: AnalyzeResponse) => {
    startTarget(target, fixed).then((running) => {
      process.send!({ port: running.port });
      // The parent asks for the server's CPU time around each measurement: CPU per call is the figure that
      // load from other processes on the machine does not distort.
      process.on("message", () => {
        const { user, system } = process.cpuUsage();
        process.send!({ cpuMicros: user + system });
      });
      process.once("disconnect", () => running.close().then(() => process.exit(0)));
    });
  });
}
