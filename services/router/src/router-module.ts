// The router as a service module: the four funnel.v1 services forwarded per experiment, ExperimentService,
// a `variant` label on the per-call metrics, and the experiment file loaded at start and hot-reloaded.
import { ExperimentServiceService } from "@funnel/proto";
import { ConfigError, clientTls, type ServiceModule } from "@funnel/runtime";
import { routerSettings } from "./config.js";
import { ExperimentConfigWatcher } from "./experiment-config-watcher.js";
import { ExperimentRouter } from "./experiment-router.js";
import { FORWARDED_SERVICES } from "./forwarded-methods.js";
import { experimentHandlers, forwardingHandlers } from "./grpc/handlers.js";
import { variantKey } from "./variant-key.js";

export const routerModule: ServiceModule<typeof routerSettings> = {
  name: "router",
  namespace: "router",
  settings: routerSettings,
  register(server, config, log, shared) {
    server.metrics.addLabel("variant", variantKey);
    const upstreamTls = clientTls(config.upstream, shared.security.reloadMs, log.child({ component: "upstream-tls" }), "the upstreams");
    const router = new ExperimentRouter(log, {
      credentials: upstreamTls.credentials,
      options: { ...upstreamTls.options, "grpc.dns_min_time_between_resolutions_ms": config.minReresolveMs },
    });
    // A forwarded service is ready while an experiment routes it, so health tells a caller (and a probe)
    // which APIs this router can serve with the config in force.
    const services = FORWARDED_SERVICES.map(({ definition, methods }) => server.addService(definition, forwardingHandlers(router, methods)));
    const publishReadiness = () => {
      const routed = router.routedServices();
      for (const name of services) server.setReady(name, routed.has(name));
    };
    const watcher = new ExperimentConfigWatcher({
      file: config.experiments,
      debounceMs: config.reloadDebounceMs,
      log,
      apply: (experiments) => {
        router.apply(experiments);
        publishReadiness();
      },
    });
    const summary = server.addService(ExperimentServiceService, experimentHandlers(router, () => watcher.lastError));
    server.onShutdown(() => {
      watcher.close();
      router.close();
      upstreamTls.close();
    });
    return async () => {
      try {
        await watcher.load();
      } catch (error) {
        throw new ConfigError(`${routerSettings.experiments.flag} (env ${routerSettings.experiments.env}): ${(error as Error).message}`);
      }
      watcher.watch();
      server.setReady(summary, true);
      log.info({ file: config.experiments, experiments: router.experiments().map((e) => e.config.name) }, "experiment config loaded");
    };
  },
};
