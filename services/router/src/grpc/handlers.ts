// gRPC adapters of the router: the forwarded services (bytes in, bytes out; the data plane decides where
// they go) and ExperimentService (summary and outcome feedback, encoded from the data plane's counts).
import type { ExperimentServiceService, GetExperimentSummaryResponse, ExperimentSummary, LatencySummary, CodeCount } from "@funnel/proto";
import type { ServiceDefinition, ServiceHandlers } from "@funnel/runtime";
import type { CallStats } from "../call-stats.js";
import type { ExperimentRouter, ExperimentState } from "../experiment-router.js";
import type { ForwardedMethod } from "../forwarded-methods.js";
import { twoProportionZTest } from "../two-proportion-z-test.js";

/** Handlers that forward every method of one service through the router. */
export function forwardingHandlers(router: ExperimentRouter, methods: Record<string, ForwardedMethod>): ServiceHandlers<ServiceDefinition> {
  const handlers: Record<string, (request: never, ctx: never) => Promise<unknown>> = {};
  for (const [key, method] of Object.entries(methods)) handlers[key] = (request, ctx) => router.forward(method, request, ctx);
  return handlers as unknown as ServiceHandlers<ServiceDefinition>;
}

export function experimentHandlers(router: ExperimentRouter, configError: () => string | undefined): ServiceHandlers<typeof ExperimentServiceService> {
  return {
    async getExperimentSummary(request) {
      const experiments = request.experiment ? [router.experiment(request.experiment)] : router.experiments();
      const response: GetExperimentSummaryResponse = {
        experiments: experiments.map(experimentSummary),
        configLoadedAt: router.loadedAt,
        configError: configError() ?? "",
      };
      return response;
    },
    async reportOutcome(request) {
      return router.reportOutcome(request.experiment, request.userId);
    },
  };
}

function experimentSummary(state: ExperimentState): ExperimentSummary {
  const variants = [...state.variants.values()];
  const control = variants[0]!;
  return {
    name: state.config.name,
    service: state.config.service,
    variants: variants.map((v) => ({
      name: v.config.name,
      weight: v.config.weight,
      upstream: v.config.upstream,
      inRotation: v.ejected === undefined,
      modelVersions: [...v.modelVersions],
      calls: v.stats.calls,
      errors: v.stats.errors,
      errorRate: rate(v.stats.errors, v.stats.calls),
      errorsByCode: codeCounts(v.stats),
      latency: v.stats.latency() satisfies LatencySummary,
      users: v.users.size,
      successes: v.successes.size,
      successRate: rate(v.successes.size, v.users.size),
    })),
    shadow: state.shadow && {
      upstream: state.config.shadow!.upstream,
      share: state.shadow.share,
      calls: state.shadow.stats.calls,
      errors: state.shadow.stats.errors,
      errorsByCode: codeCounts(state.shadow.stats),
      latency: state.shadow.stats.latency(),
      matchingAnswers: state.shadow.matching,
    },
    comparisons: variants.slice(1).map((v) => {
      const test = twoProportionZTest(control.successes.size, control.users.size, v.successes.size, v.users.size);
      return {
        control: control.config.name,
        treatment: v.config.name,
        difference: rate(v.successes.size, v.users.size) - rate(control.successes.size, control.users.size),
        z: test.z,
        pValue: test.pValue,
      };
    }),
    guardrailEvents: state.events.map((e) => ({ variant: e.variant, at: e.at, reason: e.reason })),
    since: state.since,
  };
}

function rate(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

function codeCounts(stats: CallStats): CodeCount[] {
  return [...stats.errorsByCode].map(([code, count]) => ({ code, count }));
}
