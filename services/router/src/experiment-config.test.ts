import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { ExperimentConfigError, parseExperimentConfig } from "./experiment-config.js";

const k8s = (file: string) => readFile(new URL(`../../../k8s/${file}`, import.meta.url), "utf8");

const minimal = `
experiments:
  - name: two-tower-embedding
    service: funnel.v1.EmbeddingService
    salt: s1
    variants:
      - { name: control, weight: 90, upstream: "dns:///funnel-embedding:50051" }
      - { name: treatment, weight: 10, upstream: "127.0.0.1:50052" }
`;

describe("parseExperimentConfig", () => {
  it("accepts the experiment files the k8s overlays mount", async () => {
    for (const file of ["base/router/experiments.yaml", "overlays/prod-canary/experiments.yaml"]) {
      const config = parseExperimentConfig(await k8s(file), file);
      expect(config.experiments.map((e) => e.service).sort()).toEqual([
        "funnel.v1.EmbeddingService",
        "funnel.v1.RecommendationService",
        "funnel.v1.SentimentService",
        "funnel.v1.SimilarityService",
      ]);
    }
    const canary = parseExperimentConfig(await k8s("overlays/prod-canary/experiments.yaml"), "canary");
    expect(canary.experiments.find((e) => e.name === "two-tower-embedding")?.shadow).toEqual({ share: 0.02, upstream: "dns:///funnel-embedding-canary:50051" });
  });

  it("fills defaults for guardrails and upstream policy", () => {
    const config = parseExperimentConfig(minimal, "x.yaml");
    expect(config.guardrails).toEqual({ maxErrorRate: 0.05, maxP99Ms: 500, windowSeconds: 60, minCalls: 200 });
    expect(config.upstreamDefaults.circuitBreaker).toEqual({ failureRate: 0.5, openSeconds: 30, minCalls: 20 });
  });

  it.each([
    ["not YAML", "experiments: [", /x.yaml: not valid YAML/],
    ["an unknown service", minimal.replace("EmbeddingService", "PaymentService"), /experiments.0.service/],
    ["a negative weight", minimal.replace("weight: 10", "weight: -1"), /experiments.0.variants.1.weight/],
    ["all-zero weights", minimal.replace("weight: 90", "weight: 0").replace("weight: 10", "weight: 0"), /all weights are 0/],
    ["a duplicate variant", minimal.replace("name: treatment", "name: control"), /variant "control" is listed twice/],
    ["a bad upstream", minimal.replace("127.0.0.1:50052", "http://x"), /experiments.0.variants.1.upstream: a gRPC target/],
    ["an unknown key", `${minimal}\nguardrail: {}\n`, /guardrail/],
    ["a shadow share above 1", `${minimal}    shadow: { share: 2, upstream: "a:1" }\n`, /shadow.share/],
    ["two experiments for one service", `${minimal}  - name: other\n    service: funnel.v1.EmbeddingService\n    salt: s\n    variants: [{ name: a, weight: 1, upstream: "a:1" }]\n`, /service "funnel.v1.EmbeddingService"/],
  ])("rejects %s with a reason naming the place", (_, text, reason) => {
    expect(() => parseExperimentConfig(text, "x.yaml")).toThrow(ExperimentConfigError);
    expect(() => parseExperimentConfig(text, "x.yaml")).toThrow(reason);
  });
});
