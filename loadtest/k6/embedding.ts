// k6 load test of the embedding service: EmbedUsers (70%) and EmbedItems (30%), 1-32 per call, a fifth as cold-start features.
// k6 run -e TARGET=host:50051 -e SCENARIO=constant|ramping|closed -e RATE=<per s> loadtest/k6/embedding.ts
import { funnelScript } from "./lib/funnel-grpc.ts";

const script = funnelScript("embedding");

export const options = script.options;

export default function (): void {
  script.iteration();
}
