// The experiment config file (mounted from the funnel-router-experiments ConfigMap): for each funnel.v1
// service, the variants its calls are split between, an optional shadow target, guardrail bounds and
// upstream call policy. Validated here once; everything downstream trusts the parsed value.
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/** Services the router forwards; an experiment names one of them. */
export const ROUTED_SERVICES = [
  "funnel.v1.EmbeddingService",
  "funnel.v1.SimilarityService",
  "funnel.v1.RecommendationService",
  "funnel.v1.SentimentService",
] as const;

const name = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case letters, digits and dashes");
// grpc-js target: `dns:///host:port` (resolves every address, balanced round robin) or `host:port`.
// `dns://<server>/name:port` names the DNS server to ask (grpc-js uses it with GRPC_NODE_USE_ALTERNATIVE_RESOLVER=true;
// the fleet test's cluster DNS); `dns:///name:port` asks the system resolver, as in a cluster.
const upstream = z
  .string()
  .regex(
    /^(dns:\/\/(\d{1,3}(\.\d{1,3}){3}(:\d+)?)?\/)?[A-Za-z0-9.\-[\]:]+:\d+$/,
    "a gRPC target such as dns:///funnel-embedding:50051, dns://10.96.0.10:53/funnel-embedding:50051 or 127.0.0.1:50051",
  );

const variantSchema = z.strictObject({
  name,
  weight: z.number().int().min(0).max(1_000_000),
  upstream,
});

const experimentSchema = z
  .strictObject({
    name,
    service: z.enum(ROUTED_SERVICES),
    salt: z.string().min(1),
    variants: z.array(variantSchema).min(1),
    shadow: z.strictObject({ share: z.number().min(0).max(1), upstream }).optional(),
  })
  .superRefine((experiment, issues) => {
    const names = experiment.variants.map((v) => v.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) issues.addIssue({ code: "custom", path: ["variants"], message: `variant "${twice}" is listed twice` });
    if (experiment.variants.every((v) => v.weight === 0)) issues.addIssue({ code: "custom", path: ["variants"], message: "all weights are 0; give at least one variant a weight" });
  });

const configSchema = z
  .strictObject({
    experiments: z.array(experimentSchema).min(1),
    guardrails: z
      .strictObject({
        maxErrorRate: z.number().min(0).max(1).default(0.05),
        maxP99Ms: z.number().positive().default(500),
        windowSeconds: z.number().positive().default(60),
        minCalls: z.number().int().min(1).default(200),
      })
      .prefault({}),
    upstreamDefaults: z
      .strictObject({
        deadlineMs: z.number().int().positive().default(2_000),
        retries: z.number().int().min(0).max(5).default(1),
        circuitBreaker: z
          .strictObject({
            failureRate: z.number().gt(0).max(1).default(0.5),
            openSeconds: z.number().positive().default(30),
            minCalls: z.number().int().min(1).default(20),
          })
          .prefault({}),
      })
      .prefault({}),
  })
  .superRefine((config, issues) => {
    for (const key of ["name", "service"] as const) {
      const values = config.experiments.map((e) => e[key]);
      const twice = values.find((v, i) => values.indexOf(v) !== i);
      if (twice) issues.addIssue({ code: "custom", path: ["experiments"], message: `two experiments have ${key} "${twice}"; each needs its own` });
    }
  });

export type ExperimentConfig = z.infer<typeof configSchema>;
export type Experiment = ExperimentConfig["experiments"][number];
export type Variant = Experiment["variants"][number];
export type Guardrails = ExperimentConfig["guardrails"];
export type UpstreamPolicy = ExperimentConfig["upstreamDefaults"];

/** The file is not a valid experiment config; the message lists every problem with its path. */
export class ExperimentConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExperimentConfigError";
  }
}

/** Parses and validates the YAML text of an experiment config; throws ExperimentConfigError naming `source`. */
export function parseExperimentConfig(text: string, source: string): ExperimentConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ExperimentConfigError(`${source}: not valid YAML: ${(error as Error).message}`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(top level)"}: ${issue.message}`);
    throw new ExperimentConfigError(`${source}: ${problems.join("; ")}`);
  }
  return parsed.data;
}
