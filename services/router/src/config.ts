import { clientSecuritySettings, setting, type ConfigOf } from "@funnel/runtime";

/** Router settings; the experiments themselves live in the YAML file, which is hot-reloaded. */
export const routerSettings = {
  experiments: setting.text({
    env: "FUNNEL_ROUTER_EXPERIMENTS",
    flag: "--router-experiments",
    default: "/etc/funnel/experiments/experiments.yaml",
    description: "Experiment config (YAML). Its directory is watched: a changed file is validated and applied; an invalid one is logged and ignored.",
  }),
  reloadDebounceMs: setting.integer({
    env: "FUNNEL_ROUTER_RELOAD_DEBOUNCE_MS",
    flag: "--router-reload-debounce-ms",
    default: 200,
    min: 0,
    max: 60_000,
    description: "Wait after a change in the config directory before re-reading it (a ConfigMap update is several file events).",
  }),
  // grpc-js re-resolves an upstream's name when a connection to it closes (servers bound connection age for
  // that), but at most once per this interval; a replica added later waits for the next resolution.
  minReresolveMs: setting.integer({
    env: "FUNNEL_ROUTER_MIN_RERESOLVE_MS",
    flag: "--router-min-reresolve-ms",
    default: 30_000,
    min: 100,
    max: 600_000,
    description:
      "Least time between two DNS resolutions of an upstream name (grpc-js grpc.dns_min_time_between_resolutions_ms). A new replica gets traffic within the larger of this and the upstreams' maximum connection age.",
  }),
  /** How the router connects to its upstreams: TLS (mutual with a client certificate) and its own token. */
  upstream: clientSecuritySettings({ flag: "--router-upstream", env: "FUNNEL_ROUTER_UPSTREAM", what: "the upstreams" }),
};

export type RouterConfig = ConfigOf<typeof routerSettings>;
