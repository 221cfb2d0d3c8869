// The funnel.v1 methods the router forwards, taken from the generated service definitions so that a new
// method needs no router change beyond its row of routing facts below.
import type { MethodDefinition } from "@grpc/grpc-js";
import { EmbeddingServiceService, RecommendationServiceService, SentimentServiceService, SimilarityServiceService } from "@funnel/proto";
import type { ServiceDefinition } from "@funnel/runtime";

/** What the router needs to know about one method beyond its definition. */
interface RoutingFacts {
  /** Field-number path of the user id in the request; absent: only the x-user-id header routes it. */
  userIdPath?: readonly number[];
  /** Field number of the response's ModelRef (its version labels metrics). */
  modelField: number;
  /**
   * Safe to send twice. Upserts are not: a retry after a lost answer can land after a newer upsert of the
   * same user and put the older vector back. Client streams cannot be replayed.
   */
  idempotent: boolean;
}

const FACTS: Record<string, RoutingFacts> = {
  "/funnel.v1.EmbeddingService/EmbedUsers": { userIdPath: [1, 1], modelField: 2, idempotent: true },
  "/funnel.v1.EmbeddingService/EmbedItems": { modelField: 2, idempotent: true },
  "/funnel.v1.SimilarityService/FindSimilarUsers": { userIdPath: [1], modelField: 2, idempotent: true },
  "/funnel.v1.SimilarityService/UpsertUserVectors": { userIdPath: [1, 1], modelField: 2, idempotent: false },
  "/funnel.v1.RecommendationService/RecommendItems": { userIdPath: [1], modelField: 2, idempotent: true },
  "/funnel.v1.RecommendationService/GuideNextStep": { userIdPath: [1], modelField: 4, idempotent: true },
  "/funnel.v1.SentimentService/Analyze": { modelField: 2, idempotent: true },
  "/funnel.v1.SentimentService/AnalyzeBatch": { modelField: 2, idempotent: true },
  "/funnel.v1.SentimentService/AggregateFeedback": { modelField: 7, idempotent: false },
};

export interface ForwardedMethod extends RoutingFacts {
  /** gRPC path, e.g. "/funnel.v1.EmbeddingService/EmbedUsers". */
  readonly path: string;
  readonly service: string;
  readonly requestStream: boolean;
}

const identity = (bytes: Buffer): Buffer => bytes;

/**
 * A service definition with the generated one's paths and shapes but bytes in and out: the router hands
 * the caller's serialized request to the upstream and the upstream's serialized answer back unchanged.
 */
function passThrough(definition: ServiceDefinition): ServiceDefinition {
  const bytes: ServiceDefinition = {};
  for (const [key, method] of Object.entries(definition)) {
    bytes[key] = {
      ...method,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    } as MethodDefinition<Buffer, Buffer>;
  }
  return bytes;
}

/** The four forwarded services: name, pass-through definition, and each method's routing facts. */
export const FORWARDED_SERVICES = [EmbeddingServiceService, SimilarityServiceService, RecommendationServiceService, SentimentServiceService].map((definition) => {
  const methods = Object.entries(definition).map(([key, method]): [string, ForwardedMethod] => {
    const facts = FACTS[method.path];
    if (!facts) throw new Error(`router: no routing facts for ${method.path}; add a row to FACTS in forwarded-methods.ts`);
    return [key, { ...facts, path: method.path, service: method.path.split("/")[1]!, requestStream: method.requestStream }];
  });
  return { service: methods[0]![1].service, definition: passThrough(definition as unknown as ServiceDefinition), methods: Object.fromEntries(methods) };
});
