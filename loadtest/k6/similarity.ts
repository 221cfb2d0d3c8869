// k6 load test of the similarity service: FindSimilarUsers by id or by cold-start features, top 10-50.
// k6 run -e TARGET=host:50051 -e SCENARIO=constant|ramping|closed -e RATE=<per s> loadtest/k6/similarity.ts
import { funnelScript } from "./lib/funnel-grpc.ts";

const script = funnelScript("similarity");

export const options = script.options;

export default function (): void {
  script.iteration();
}
