import { SentimentServiceService } from "@funnel/proto";
import type { ModelSlot, ServiceModule } from "@funnel/runtime";
import { sentimentSettings } from "./config.js";
import { sentimentHandlers } from "./grpc/handlers.js";
import { SentimentAnalyzer } from "./sentiment-analyzer.js";
import { SentimentTransformer } from "./transformer/sentiment-transformer.js";

/** Slot kind of the transformer: one loaded copy per process, hot-swapped like every registry model. */
export const TRANSFORMER_SLOT_KIND = "sentiment-transformer";

/** The Sentiment service as a module: runs alone (main.ts) or inside the embedded platform. */
export const sentimentModule: ServiceModule<typeof sentimentSettings> = {
  name: "sentiment",
  namespace: "sentiment",
  settings: sentimentSettings,
  register(server, config, log, shared) {
    let analyzer: SentimentAnalyzer | undefined;
    // The runtime answers UNAVAILABLE until setReady below, so handlers never see an unloaded analyzer.
    const handlers = sentimentHandlers(() => analyzer!, config);
    const name = server.addService(SentimentServiceService, handlers);
    // The transformer is optional: the service is ready on its rules, uses the transformer once a version
    // is loaded, and keeps watching the ref (ModelStatusService shows the slot and why it is empty).
    const slot: ModelSlot<SentimentTransformer> | undefined = config.transformerRef
      ? shared.models.slot({
          name: config.transformerModel,
          ref: config.transformerRef,
          kind: TRANSFORMER_SLOT_KIND,
          optional: true,
          load: (dir) => SentimentTransformer.load(dir),
        })
      : undefined;
    // A pinned version is a promise of the rollout (k8s/README.md): the pod is not ready until that version
    // serves, so a version that cannot load stalls the rollout instead of passing it on rules alone. Following
    // an alias (or no ref) keeps the rules-only readiness: the transformer is a fallback that may come later.
    const pinned = slot !== undefined && /^v?\d+$/.test(config.transformerRef.trim());
    const publishReady = () => server.setReady(name, analyzer !== undefined && (!pinned || slot.ready));
    slot?.onReadyChange((ready) => {
      publishReady();
      if (!ready) return log.info({ model: config.transformerModel, ref: config.transformerRef, ready }, "transformer released: rules only");
      // The policy is stored with the version; one fitted against another rule set is not applied.
      const lease = slot.acquire();
      try {
        const fitted = lease.model.fittedPolicy;
        const policy = analyzer?.policyOf(lease.model).version;
        log.info(
          { model: config.transformerModel, ref: config.transformerRef, version: lease.version, ready, hybridPolicy: policy ?? fitted?.version ?? "default", fittedFor: fitted?.ruleSetVersion },
          "transformer loaded: the hybrid policy stored with it decides which texts it sees",
        );
      } finally {
        lease.release();
      }
    });
    return async () => {
      analyzer = SentimentAnalyzer.load({
        rulesPath: config.rulesPath || undefined,
        cacheEntries: config.cacheEntries,
        metricsRegistry: server.metrics.registry,
        transformer: slot && {
          slot,
          maxBatch: config.transformerMaxBatch,
          batchDelayMs: config.transformerBatchDelayMs,
          maxQueue: config.transformerMaxQueue,
        },
      });
      publishReady();
      log.info({ ruleSetVersion: analyzer.version }, "sentiment rules loaded");
      await slot?.start();
      if (!slot?.ready) {
        const fields = { model: config.transformerModel, ref: config.transformerRef || "(none)", reason: slot?.status().lastError?.message };
        if (pinned) log.warn(fields, "pinned sentiment transformer version not loaded: NOT_SERVING until it loads (the slot keeps trying)");
        // No transformer registered yet is the normal state of a fresh start: one line, no stack.
        else log.info(fields, "no sentiment transformer loaded: serving rules only (unsure texts keep the rules' answer)");
      }
    };
  },
};
