// The transport ceiling: a plain grpc-js server on the generated Similarity and Recommendation definitions
// answering every call with one fixed response of the benchmark's size (k ids with scores). No model, no
// runtime, no middleware: what is left is protobuf decoding/encoding and HTTP/2.
// Child process entry: prints {"ready":true,"port":N}; stops on SIGTERM.
import * as grpc from "@grpc/grpc-js";
import {
  RecommendationServiceService,
  type RecommendationServiceServer,
  RecommendationSource,
  SimilarityServiceService,
  type SimilarityServiceServer,
} from "@funnel/proto";
import { announceReady, stopOnSigterm } from "@funnel/loadtest";

const k = Number(process.argv[2] ?? "10");
const model = { name: "ceiling", version: "1" };
const users = Array.from({ length: k }, (_, i) => ({ id: `0123456789abcdef0123${String(i).padStart(4, "0")}`, score: 1 - i / 100 }));
const items = Array.from({ length: k }, (_, i) => ({ itemId: `item-${String(i).padStart(5, "0")}`, score: 1 - i / 100, source: RecommendationSource.RECOMMENDATION_SOURCE_HYBRID }));

const similarity: SimilarityServiceServer = {
  findSimilarUsers: (_call, callback) => callback(null, { users, model }),
  upsertUserVectors: (call, callback) => callback(null, { upserted: call.request.users.length, model }),
};
const recommendation: RecommendationServiceServer = {
  recommendItems: (_call, callback) => callback(null, { items, model }),
  guideNextStep: (_call, callback) => callback(null, { nextPage: 3, conversionProbability: 0.2, suggestions: [], model, conversionEstimate: 1 }),
};

const server = new grpc.Server();
server.addService(SimilarityServiceService, similarity);
server.addService(RecommendationServiceService, recommendation);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  announceReady({ port });
  stopOnSigterm(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
});
