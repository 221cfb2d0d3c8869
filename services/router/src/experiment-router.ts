// The data plane of the router: which experiment a call belongs to, which variant answers it (sticky split,
// override header, guardrail exclusions), the forwarding itself, shadow copies, and the per-variant counts
// the summary and the guardrails read. Knows nothing about serving; the gRPC adapter calls forward().
import * as grpc from "@grpc/grpc-js";
import {
  CancelledError,
  DeadlineExceededError,
  InvalidArgumentError,
  NotFoundError,
  ServiceError,
  UnavailableError,
  modelVersionKey,
  requestIdKey,
  type CallContext,
  type Logger,
} from "@funnel/runtime";
import { assignVariant } from "./assign-variant.js";
import { CallStats, guardrailBreach } from "./call-stats.js";
import type { Experiment, ExperimentConfig, Guardrails, UpstreamPolicy, Variant } from "./experiment-config.js";
import type { ForwardedMethod } from "./forwarded-methods.js";
import { variantKey } from "./variant-key.js";
import { Upstream, UpstreamFailure, type UpstreamConnection } from "./upstream.js";
import { stringAt } from "./wire-fields.js";

/** Routes the call to the user of this id (wins over the id in the request body). */
export const USER_ID_HEADER = "x-user-id";
/** Sends the call to the named variant whatever the split says (testing; guardrails do not apply). */
export const VARIANT_OVERRIDE_HEADER = "x-funnel-variant";

// Distinct users remembered per variant for success rates; beyond it new users are not counted (memory).
const MAX_USERS_PER_VARIANT = 1_000_000;
const GUARDRAIL_CHECK_INTERVAL_MS = 250;

export interface VariantState {
  readonly config: Variant;
  readonly upstream: Upstream;
  readonly stats: CallStats;
  readonly users: Set<string>;
  readonly successes: Set<string>;
  readonly modelVersions: Set<string>;
  /** Set when a guardrail took the variant out of rotation. */
  ejected: { at: Date; reason: string } | undefined;
}

export interface ShadowState {
  readonly upstream: Upstream;
  readonly share: number;
  readonly stats: CallStats;
  matching: number;
}

export interface GuardrailEventRecord {
  variant: string;
  at: Date;
  reason: string;
}

export interface ExperimentState {
  readonly config: Experiment;
  readonly variants: Map<string, VariantState>;
  readonly excluded: Set<string>;
  readonly shadow: ShadowState | undefined;
  readonly events: GuardrailEventRecord[];
  readonly since: Date;
}

export class ExperimentRouter {
  private byService = new Map<string, ExperimentState>();
  private byName = new Map<string, ExperimentState>();
  private guardrails: Guardrails | undefined;
  private readonly upstreams = new Map<string, Upstream>();
  loadedAt: Date | undefined;
  // Guardrails are checked on a timer, off the call path: a check sorts the window's latencies, and a
  // variant that stops getting calls must still be judged on the ones it had.
  private readonly guardrailTimer: NodeJS.Timeout;

  constructor(
    private readonly log: Logger,
    private readonly connection?: UpstreamConnection,
  ) {
    this.guardrailTimer = setInterval(() => {
      for (const experiment of this.byName.values()) this.checkGuardrails(experiment);
    }, GUARDRAIL_CHECK_INTERVAL_MS);
    this.guardrailTimer.unref();
  }

  /**
   * Puts a (validated) config in force. A variant whose experiment, name, upstream and weight are unchanged
   * keeps its counts and guardrail state, so an unrelated edit neither resets the summary nor puts an
   * ejected variant back; editing the variant does. Channels to targets still in use are kept.
   */
  apply(config: ExperimentConfig): void {
    const previous = this.byName;
    const byService = new Map<string, ExperimentState>();
    const byName = new Map<string, ExperimentState>();
    const used = new Set<string>();
    const upstream = (target: string) => {
      const key = `${target}\u0000${JSON.stringify(config.upstreamDefaults)}`;
      used.add(key);
      let found = this.upstreams.get(key);
      if (!found) {
        found = new Upstream(target, config.upstreamDefaults as UpstreamPolicy, this.connection);
        this.upstreams.set(key, found);
      }
      return found;
    };
    for (const experiment of config.experiments) {
      const old = previous.get(experiment.name);
      const sameExperiment = old !== undefined && old.config.service === experiment.service && old.config.salt === experiment.salt;
      const variants = new Map<string, VariantState>();
      for (const variant of experiment.variants) {
        const kept = sameExperiment ? old.variants.get(variant.name) : undefined;
        const unchanged = kept !== undefined && kept.config.upstream === variant.upstream && kept.config.weight === variant.weight;
        variants.set(
          variant.name,
          unchanged
            ? { ...kept, upstream: upstream(variant.upstream) }
            : { config: variant, upstream: upstream(variant.upstream), stats: new CallStats(), users: new Set(), successes: new Set(), modelVersions: new Set(), ejected: undefined },
        );
      }
      const oldShadow = sameExperiment && old.config.shadow?.upstream === experiment.shadow?.upstream ? old.shadow : undefined;
      const state: ExperimentState = {
        config: experiment,
        variants,
        excluded: new Set([...variants.values()].filter((v) => v.ejected).map((v) => v.config.name)),
        shadow: experiment.shadow
          ? { upstream: upstream(experiment.shadow.upstream), share: experiment.shadow.share, stats: oldShadow?.stats ?? new CallStats(), matching: oldShadow?.matching ?? 0 }
          : undefined,
        events: sameExperiment ? old.events : [],
        since: sameExperiment ? old.since : new Date(),
      };
      byService.set(experiment.service, state);
      byName.set(experiment.name, state);
    }
    this.byService = byService;
    this.byName = byName;
    this.guardrails = config.guardrails;
    this.loadedAt = new Date();
    for (const [key, channel] of this.upstreams) {
      if (used.has(key)) continue;
      channel.close();
      this.upstreams.delete(key);
    }
  }

  /** Full service names that an experiment routes now. */
  routedServices(): Set<string> {
    return new Set(this.byService.keys());
  }

  experiments(): ExperimentState[] {
    return [...this.byName.values()];
  }

  experiment(name: string): ExperimentState {
    const state = this.byName.get(name);
    if (!state) throw new NotFoundError(`no experiment "${name}"; the config has: ${[...this.byName.keys()].join(", ")}`);
    return state;
  }

  /** Forwards one call (serialized request, or a client stream of them) and returns the upstream's answer bytes. */
  async forward(method: ForwardedMethod, request: Buffer | AsyncIterable<Buffer>, ctx: CallContext): Promise<Buffer> {
    const experiment = this.byService.get(method.service);
    if (!experiment) throw new UnavailableError(`no experiment routes ${method.service}; add one for it to the router's experiment config`);
    const userId = headerOf(ctx.metadata, USER_ID_HEADER) ?? (method.userIdPath && Buffer.isBuffer(request) ? stringAt(request, method.userIdPath) : undefined);
    const variant = this.variantFor(experiment, userId, headerOf(ctx.metadata, VARIANT_OVERRIDE_HEADER));
    const name = variant.config.name;
    ctx.values.set(variantKey, name);
    ctx.addLogBindings({ experiment: experiment.config.name, variant: name });
    const metadata = new grpc.Metadata();
    const requestId = ctx.values.get(requestIdKey);
    if (requestId) metadata.set("x-request-id", requestId);
    if (userId) metadata.set(USER_ID_HEADER, userId);
    const call = { path: method.path, metadata, deadline: ctx.deadline, idempotent: method.idempotent, signal: ctx.signal };
    const started = performance.now();
    const answer = Buffer.isBuffer(request) ? variant.upstream.unary(request, call) : variant.upstream.clientStream(request, call);
    if (experiment.shadow && Buffer.isBuffer(request) && Math.random() < experiment.shadow.share) {
      this.mirror(experiment.shadow, method, request, metadata, answer);
    }
    try {
      const response = await answer;
      variant.stats.record("OK", performance.now() - started);
      const version = stringAt(response, [method.modelField, 2]);
      if (version) {
        ctx.values.set(modelVersionKey, version);
        variant.modelVersions.add(version);
      }
      if (userId && variant.users.size < MAX_USERS_PER_VARIANT) variant.users.add(userId);
      return response;
    } catch (error) {
      const failure = error instanceof UpstreamFailure ? error : new UpstreamFailure(grpc.status.UNKNOWN, String(error));
      variant.stats.record(grpc.status[failure.code] ?? "UNKNOWN", performance.now() - started);
      throw callerError(failure, experiment.config.name, variant);
    }
  }

  /**
   * Records a success signal for a user: it counts for the variant that served the user here. Returns that
   * variant (or, if this router never routed the user, the one the split would pick) and whether it counted.
   */
  reportOutcome(experimentName: string, userId: string): { variant: string; counted: boolean } {
    const experiment = this.experiment(experimentName);
    if (!userId) throw new InvalidArgumentError("user_id", "is empty; give the id of the user who converted");
    for (const variant of experiment.variants.values()) {
      if (!variant.users.has(userId)) continue;
      variant.successes.add(userId);
      return { variant: variant.config.name, counted: true };
    }
    return { variant: assignVariant(userId, experiment.config, experiment.excluded) ?? "", counted: false };
  }

  close(): void {
    clearInterval(this.guardrailTimer);
    for (const upstream of this.upstreams.values()) upstream.close();
    this.upstreams.clear();
  }

  private variantFor(experiment: ExperimentState, userId: string | undefined, override: string | undefined): VariantState {
    if (override !== undefined) {
      const forced = experiment.variants.get(override);
      if (!forced) {
        throw new InvalidArgumentError(VARIANT_OVERRIDE_HEADER, `unknown variant "${override}" of experiment "${experiment.config.name}"; use one of: ${[...experiment.variants.keys()].join(", ")}`);
      }
      return forced;
    }
    // Without a user id there is nothing to stick to: a random point still follows the weights.
    const name = assignVariant(userId ?? String(Math.random()), experiment.config, experiment.excluded);
    return experiment.variants.get(name!)!;
  }

  /** Sends a copy to the shadow target; its answer is compared with the caller's and dropped, its errors only counted. */
  private mirror(shadow: ShadowState, method: ForwardedMethod, request: Buffer, metadata: grpc.Metadata, primary: Promise<Buffer>): void {
    const started = performance.now();
    // No caller deadline or signal: the caller is not waiting for this call, and must not be able to cancel it either.
    const copy = shadow.upstream.unary(request, { path: method.path, metadata, deadline: undefined, idempotent: false });
    Promise.allSettled([copy, primary]).then(([mirrored, answered]) => {
      if (mirrored.status === "fulfilled") {
        shadow.stats.record("OK", performance.now() - started);
        if (answered.status === "fulfilled" && answered.value.equals(mirrored.value)) shadow.matching++;
      } else {
        const failure = mirrored.reason as UpstreamFailure;
        shadow.stats.record(grpc.status[failure.code] ?? "UNKNOWN", performance.now() - started);
      }
    });
  }

  private checkGuardrails(experiment: ExperimentState): void {
    const now = Date.now();
    const bounds = this.guardrails;
    if (!bounds) return;
    for (const variant of experiment.variants.values()) {
      if (variant.ejected || variant.config.weight === 0) continue;
      const reason = guardrailBreach(variant.stats.window(bounds.windowSeconds * 1_000, now), bounds);
      if (!reason) continue;
      const others = [...experiment.variants.values()].filter((v) => v !== variant && !v.ejected && v.config.weight > 0);
      const name = variant.config.name;
      if (others.length === 0) {
        // Taking the last variant out would leave the service with no route at all: worse than a bad one.
        this.log.error({ experiment: experiment.config.name, variant: name, reason }, "guardrail breached by the last variant in rotation; kept in rotation");
        continue;
      }
      variant.ejected = { at: new Date(now), reason };
      experiment.excluded.add(name);
      experiment.events.push({ variant: name, at: variant.ejected.at, reason });
      this.log.warn({ experiment: experiment.config.name, variant: name, upstream: variant.config.upstream, reason }, "guardrail breached: variant taken out of rotation");
    }
  }
}

function headerOf(metadata: grpc.Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** The status the caller gets for a failed upstream call: the upstream's own, naming the variant when the fault is the upstream's. */
function callerError(failure: UpstreamFailure, experiment: string, variant: VariantState): ServiceError {
  const where = `variant "${variant.config.name}" of experiment "${experiment}" (${variant.config.upstream})`;
  switch (failure.code) {
    case grpc.status.UNAVAILABLE:
      return new UnavailableError(`${where} is unavailable: ${failure.details}`);
    case grpc.status.DEADLINE_EXCEEDED:
      return new DeadlineExceededError(`${where} did not answer before the deadline: ${failure.details}`);
    case grpc.status.CANCELLED:
      return new CancelledError(failure.details);
    default:
      // The upstream's own answer (INVALID_ARGUMENT, NOT_FOUND, ...): its message already says what to fix.
      return new ServiceError(failure.code, failure.details);
  }
}
