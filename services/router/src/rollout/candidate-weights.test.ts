import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { parseExperimentConfig } from "../experiment-config.js";
import { candidateShares, withCandidateWeight } from "./candidate-weights.js";
import { kubectlTarget } from "./experiments-target.js";

const canaryFile = readFileSync(new URL("../../../../k8s/overlays/prod-canary/experiments.yaml", import.meta.url), "utf8");
const hasKubectl = spawnSync("kubectl", ["version", "--client"]).status === 0;

describe("withCandidateWeight", () => {
  it("steps the prod-canary file through 5, 25, 50, 100 % in all three two-tower experiments, comments kept", () => {
    expect(candidateShares(canaryFile, "candidate")).toEqual({ "two-tower-embedding": 10, "two-tower-similarity": 10, "two-tower-recommendation": 10 });
    let text = canaryFile;
    for (const percent of [5, 25, 50, 100]) {
      text = withCandidateWeight(text, "candidate", percent);
      expect(Object.values(candidateShares(text, "candidate"))).toEqual([percent, percent, percent]);
    }
    const config = parseExperimentConfig(text, "stepped");
    const recommendation = config.experiments.find((e) => e.name === "two-tower-recommendation")!;
    expect(recommendation.variants.map((v) => [v.name, v.weight])).toEqual([["control", 0], ["candidate", 100]]);
    // Sentiment has no candidate: untouched. Comments and the shadow block survive.
    expect(config.experiments.find((e) => e.name === "sentiment")!.variants).toEqual([{ name: "control", weight: 100, upstream: "dns:///funnel-sentiment:50051" }]);
    expect(text).toContain("# Canary: 10% of users");
    expect(recommendation.shadow).toEqual({ share: 0.02, upstream: "dns:///funnel-recommendation-canary:50051" });
  });

  it("splits the rest over several other variants by their weights", () => {
    const three = "experiments:\n  - name: x\n    service: funnel.v1.EmbeddingService\n    salt: s\n    variants:\n      - { name: a, weight: 60, upstream: 'h:1' }\n      - { name: b, weight: 30, upstream: 'h:2' }\n      - { name: candidate, weight: 10, upstream: 'h:3' }\n";
    const stepped = parseExperimentConfig(withCandidateWeight(three, "candidate", 25), "t").experiments[0]!.variants;
    expect(stepped.map((v) => v.weight)).toEqual([50, 25, 25]);
  });

  it("refuses an unknown candidate, a candidate alone, and a bad percentage, saying what to fix", () => {
    expect(() => withCandidateWeight(canaryFile, "canary", 5)).toThrow(/no experiment has a variant "canary"; add it \(weight 0\)/);
    expect(() => withCandidateWeight(canaryFile, "candidate", 12.5)).toThrow(/whole percentage/);
    const alone = "experiments:\n  - name: x\n    service: funnel.v1.EmbeddingService\n    salt: s\n    variants:\n      - { name: candidate, weight: 1, upstream: 'h:3' }\n";
    expect(() => withCandidateWeight(alone, "candidate", 5)).toThrow(/only variant/);
  });
});

describe.skipIf(!hasKubectl)("kubectl target (offline)", () => {
  it("renders the ConfigMap a step applies with kubectl --dry-run=client: the stepped file under experiments.yaml", async () => {
    const target = kubectlTarget({ namespace: "funnel" });
    const stepped = withCandidateWeight(canaryFile, "candidate", 25);
    const manifest = parse(await target.manifestOf(stepped));
    expect(manifest).toMatchObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "funnel-router-experiments", namespace: "funnel" } });
    expect(manifest.data["experiments.yaml"]).toBe(stepped);
  });
});
