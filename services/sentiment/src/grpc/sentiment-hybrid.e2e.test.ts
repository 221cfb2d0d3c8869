// End to end: the rules plus a real (tiny) transformer registered in a real file registry, served through the
// runtime's model slot over gRPC on port 0; and the same service with no transformer (rules only).
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  AnalysisMethod,
  type AnalyzeBatchRequest,
  type AnalyzeBatchResponse,
  type AnalyzeRequest,
  type AnalyzeResponse,
  type ListModelsResponse,
  ModelStatusServiceClient,
  PageType,
  SentimentLabel,
  SentimentServiceClient,
} from "@funnel/proto";
import { FileRegistry, writeModelDirectoryManifest } from "@funnel/registry";
import { type RunningServices, runServices } from "@funnel/runtime";
import { checkHealth } from "@funnel/runtime/testing";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RULES_PATH } from "../scoring/index.js";
import { sentimentModule } from "../sentiment-module.js";
import { HYBRID_POLICY_FILE, HYBRID_POLICY_FORMAT, type HybridPolicy } from "../transformer/hybrid-policy.js";

const FIXTURE = fileURLToPath(new URL("../transformer/testdata/tiny-sentiment/", import.meta.url));
/** No lexicon word (and all in the tiny model's vocabulary): the rules are unsure, so the hybrid asks the transformer. */
const UNSURE = "this was the delivery page";

let root: string;
let withModel: RunningServices;
let rulesOnly: RunningServices;
let withPolicy: RunningServices;
let client: SentimentServiceClient;
let rulesClient: SentimentServiceClient;
let policyClient: SentimentServiceClient;

async function start(registry: FileRegistry, ref: string, name: string): Promise<RunningServices> {
  return runServices([sentimentModule], {
    env: {},
    argv: ["--port", "0", "--metrics-port", "-1", "--log-level", "silent", "--model-cache-dir", path.join(root, `cache-${name}`), "--sentiment-transformer-ref", ref],
    modelSource: registry,
  });
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "sentiment-hybrid-"));
  const dir = path.join(root, "tiny");
  await mkdir(dir);
  for (const file of ["config.json", "model.onnx", "tokenizer.json", "tokenizer_config.json"]) await copyFile(path.join(FIXTURE, file), path.join(dir, file));
  await writeModelDirectoryManifest(dir, { name: "sentiment-transformer", kind: "hf-sequence-classification", metrics: {}, params: {}, lineage: { dataFingerprint: "tiny-fixture" } });
  const registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "test" });
  await registry.register(dir);
  await registry.setAlias("sentiment-transformer", "production", 1);
  // Version 2: the same model with a hybrid policy stored beside it.
  const { version: ruleSetVersion } = JSON.parse(await readFile(DEFAULT_RULES_PATH, "utf8")) as { version: string };
  const policy: HybridPolicy = {
    format: HYBRID_POLICY_FORMAT,
    version: "e2e.v1",
    ruleSetVersion,
    lengthBuckets: [12, 40],
    // Confident lexicon-only short texts go to the combination, so it is easy to reach.
    cells: { "confident/short": "combined", "unsure/short": "transformer", "neutral/short": "transformer" },
    combination: { transformerMargin: 1, rulesScore: 2, bias: 0 },
    marginClip: 10,
  };
  await writeFile(path.join(dir, HYBRID_POLICY_FILE), JSON.stringify(policy));
  await writeModelDirectoryManifest(dir, { name: "sentiment-transformer", kind: "hf-sequence-classification", metrics: {}, params: {}, lineage: { dataFingerprint: "tiny-fixture" } });
  await registry.register(dir);
  withModel = await start(registry, "production", "model");
  rulesOnly = await start(registry, "not-registered", "rules");
  withPolicy = await start(registry, "2", "policy");
  client = new SentimentServiceClient(`127.0.0.1:${withModel.port}`, grpc.credentials.createInsecure());
  rulesClient = new SentimentServiceClient(`127.0.0.1:${rulesOnly.port}`, grpc.credentials.createInsecure());
  policyClient = new SentimentServiceClient(`127.0.0.1:${withPolicy.port}`, grpc.credentials.createInsecure());
}, 60_000);

afterAll(async () => {
  client?.close();
  rulesClient?.close();
  policyClient?.close();
  await withModel?.shutdown();
  await rulesOnly?.shutdown();
  await withPolicy?.shutdown();
  await rm(root, { recursive: true, force: true });
});

const analyze = (c: SentimentServiceClient, request: Partial<AnalyzeRequest>) =>
  new Promise<AnalyzeResponse>((resolve, reject) => c.analyze({ text: "", page: 0, ...request }, (error, response) => (error ? reject(error) : resolve(response!))));
const analyzeBatch = (c: SentimentServiceClient, request: AnalyzeBatchRequest) =>
  new Promise<AnalyzeBatchResponse>((resolve, reject) => c.analyzeBatch(request, (error, response) => (error ? reject(error) : resolve(response!))));

describe("Sentiment hybrid: rules, then the transformer when they are unsure", () => {
  it("keeps the rules' answer when they are confident", async () => {
    const { result } = await analyze(client, { text: "Absolutely love it, fast delivery and great support!", page: PageType.PAGE_TYPE_CONFIRMATION });
    expect(result).toMatchObject({ method: AnalysisMethod.ANALYSIS_METHOD_RULES, label: SentimentLabel.SENTIMENT_LABEL_POSITIVE, rulesUnsure: false });
    expect(result?.modelVersion).toBeUndefined();
  });

  it("lets the transformer decide an unsure text, naming its version and class", async () => {
    const { result, model } = await analyze(client, { text: UNSURE });
    // Version 1 has no hybrid-policy.json: the default policy (the transformer alone on unsure texts).
    expect(result).toMatchObject({ method: AnalysisMethod.ANALYSIS_METHOD_TRANSFORMER, rulesUnsure: true, modelName: "sentiment-transformer", modelVersion: "1", truncated: false, hybridPolicy: "default" });
    expect(["POSITIVE", "NEGATIVE"]).toContain(result!.transformerLabel);
    expect(result!.label).toBe(result!.transformerLabel === "POSITIVE" ? SentimentLabel.SENTIMENT_LABEL_POSITIVE : SentimentLabel.SENTIMENT_LABEL_NEGATIVE);
    // The rules' version still names the response; the transformer's is per result.
    expect(model?.name).toBe("sentiment-rules");
  });

  it("follows force_method both ways, for evaluation", async () => {
    const rules = await analyze(client, { text: UNSURE, forceMethod: AnalysisMethod.ANALYSIS_METHOD_RULES });
    expect(rules.result?.method).toBe(AnalysisMethod.ANALYSIS_METHOD_RULES);
    const forced = await analyze(client, { text: "Absolutely love it!", forceMethod: AnalysisMethod.ANALYSIS_METHOD_TRANSFORMER });
    expect(forced.result?.method).toBe(AnalysisMethod.ANALYSIS_METHOD_TRANSFORMER);
    await expect(analyze(client, { text: UNSURE, forceMethod: 9 as AnalysisMethod })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining("force_method: unknown enum value 9"),
    });
  });

  it("truncates a text longer than the model's maximum length and says so, instead of rejecting it", async () => {
    const long = Array.from({ length: 400 }, () => "parcel").join(" ");
    const { result } = await analyze(client, { text: long, forceMethod: AnalysisMethod.ANALYSIS_METHOD_TRANSFORMER });
    expect(result).toMatchObject({ method: AnalysisMethod.ANALYSIS_METHOD_TRANSFORMER, truncated: true });
  });

  it("answers a batch in order, each item by the path that decided it", async () => {
    const { results } = await analyzeBatch(client, { items: [{ text: "Terrible, they lost my order", page: PageType.PAGE_TYPE_CONFIRMATION }, { text: UNSURE, page: 0 }] });
    expect(results.map((r) => r.method)).toEqual([AnalysisMethod.ANALYSIS_METHOD_RULES, AnalysisMethod.ANALYSIS_METHOD_TRANSFORMER]);
    expect(results[0]!.label).toBe(SentimentLabel.SENTIMENT_LABEL_NEGATIVE);
  });

  it("applies the policy stored with the model version: the combination decides, and the response says so", async () => {
    const { result } = await analyze(policyClient, { text: "great checkout really love it" });
    expect(result).toMatchObject({ method: AnalysisMethod.ANALYSIS_METHOD_COMBINED, rulesUnsure: false, modelVersion: "2", hybridPolicy: "e2e.v1" });
    expect(result!.label).toBe(SentimentLabel.SENTIMENT_LABEL_POSITIVE);
    // The same text on version 1 (no policy): confident rules keep it, the transformer never runs.
    const { result: v1 } = await analyze(client, { text: "great checkout really love it" });
    expect(v1).toMatchObject({ method: AnalysisMethod.ANALYSIS_METHOD_RULES });
    expect(v1?.hybridPolicy).toBeUndefined();
  });

  it("runs rules only when no transformer is registered, refusing a forced transformer with FAILED_PRECONDITION", async () => {
    const { result } = await analyze(rulesClient, { text: UNSURE });
    expect(result).toMatchObject({ method: AnalysisMethod.ANALYSIS_METHOD_RULES, rulesUnsure: true });
    await expect(analyze(rulesClient, { text: UNSURE, forceMethod: AnalysisMethod.ANALYSIS_METHOD_TRANSFORMER })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: expect.stringContaining("no version of sentiment-transformer@not-registered is loaded yet"),
    });
    const status = new ModelStatusServiceClient(`127.0.0.1:${rulesOnly.port}`, grpc.credentials.createInsecure());
    const models = await new Promise<ListModelsResponse>((resolve, reject) => status.listModels({}, (e, r) => (e ? reject(e) : resolve(r!))));
    status.close();
    expect(models.models).toEqual([expect.objectContaining({ name: "sentiment-transformer", ref: "not-registered", ready: false, version: "", lastError: expect.stringMatching(/not-registered|not found/i) })]);
  });
});

describe("Sentiment readiness and the transformer version", () => {
  const SERVICE = "funnel.v1.SentimentService";

  it("is ready on its rules while it follows an alias, with or without a transformer behind it", async () => {
    expect(await checkHealth(`127.0.0.1:${rulesOnly.port}`, SERVICE)).toBe("SERVING");
    expect(await checkHealth(`127.0.0.1:${withModel.port}`, SERVICE)).toBe("SERVING");
    expect(await checkHealth(`127.0.0.1:${withPolicy.port}`, SERVICE)).toBe("SERVING");
  });

  it("with a pinned version, stays NOT_SERVING until that version loaded (the rollout waits), then serves", async () => {
    const registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "test" });
    const pinned = await runServices([sentimentModule], {
      env: {},
      argv: [
        ...["--port", "0", "--metrics-port", "-1", "--log-level", "silent", "--model-cache-dir", path.join(root, "cache-pinned")],
        ...["--model-poll-ms", "200", "--sentiment-transformer-ref", "3"],
      ],
      modelSource: registry,
    });
    try {
      const address = `127.0.0.1:${pinned.port}`;
      expect(await checkHealth(address, SERVICE)).toBe("NOT_SERVING");
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(await checkHealth(address, SERVICE)).toBe("NOT_SERVING");
      expect(await checkHealth(address, "liveness")).toBe("SERVING");
      // Version 3 appears: the slot, still watching, loads it and the service turns ready.
      await registry.register(path.join(root, "tiny"));
      const until = Date.now() + 30_000;
      while ((await checkHealth(address, SERVICE)) !== "SERVING") {
        if (Date.now() > until) throw new Error("not SERVING 30 s after the pinned version was registered");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await pinned.shutdown();
    }
  }, 60_000);
});
