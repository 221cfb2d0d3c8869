// The transport ceiling for the benchmark: a plain grpc-js server on the same generated EmbeddingService
// definition that answers every input with one fixed vector. No model, no runtime, no middleware: what is left
// is protobuf decoding/encoding and HTTP/2, the cost any EmbeddingService pays.
// Child process entry: prints {"ready":true,"port":N} on stdout; stops on SIGTERM.
import * as grpc from "@grpc/grpc-js";
import { EmbeddingServiceService, type EmbeddingServiceServer } from "@funnel/proto";
import { announceReady, stopOnSigterm } from "@funnel/loadtest";

const dim = Number(process.argv[2] ?? "128");
const fixed = { values: Array.from({ length: dim }, (_, i) => Math.fround(Math.sin(i + 1) / Math.sqrt(dim / 2))) };
const modelRef = { name: "ceiling", version: "1" };

const handlers: EmbeddingServiceServer = {
  embedUsers(call, callback) {
    callback(null, {
      embeddings: call.request.users.map((u) => ({ id: u.input?.$case === "userId" ? u.input.value : "", vector: fixed })),
      model: modelRef,
    });
  },
  embedItems(call, callback) {
    callback(null, {
      embeddings: call.request.items.map((i) => ({ id: i.input?.$case === "itemId" ? i.input.value : "", vector: fixed })),
      model: modelRef,
    });
  },
};

const server = new grpc.Server();
server.addService(EmbeddingServiceService, handlers);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  announceReady({ port, dim });
  stopOnSigterm(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
});
