// k6 load test of the sentiment service: Analyze (90%) and AnalyzeBatch of 8-64 texts (10%).
// k6 run -e TARGET=host:50051 -e SCENARIO=constant|ramping|closed -e RATE=<per s> loadtest/k6/sentiment.ts
import { funnelScript } from "./lib/funnel-grpc.ts";

const script = funnelScript("sentiment");

export const options = script.options;

export default function (): void {
  script.iteration();
}
