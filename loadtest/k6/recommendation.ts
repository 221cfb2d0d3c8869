// k6 load test of the recommendation service: RecommendItems with session context, by id or cold-start features.
// k6 run -e TARGET=host:50051 -e SCENARIO=constant|ramping|closed -e RATE=<per s> loadtest/k6/recommendation.ts
import { funnelScript } from "./lib/funnel-grpc.ts";

const script = funnelScript("recommendation");

export const options = script.options;

export default function (): void {
  script.iteration();
}
