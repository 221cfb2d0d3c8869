import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, formatConfigHelp, setting } from "./config.js";
import { modelSettings } from "./model-settings.js";
import { runServices, settingsOf, type ServiceModule } from "./service-module.js";

const blockers: Server[] = [];

/** Holds a real port open on 127.0.0.1, as another process would. */
async function busyPort(): Promise<number> {
  const blocker = createServer();
  blockers.push(blocker);
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  return (blocker.address() as { port: number }).port;
}

afterEach(async () => {
  await Promise.all(blockers.splice(0).map((blocker) => new Promise((resolve) => blocker.close(resolve))));
});

describe("runServices start-up", () => {
  it("refuses a busy metrics port with a ConfigError naming --metrics-port", async () => {
    const port = await busyPort();
    const failure = await runServices([], { env: {}, argv: ["--port", "0", "--metrics-port", String(port), "--log-level", "silent"] }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as Error).message).toBe(
      `--metrics-port (env FUNNEL_METRICS_PORT): port ${port} on 127.0.0.1 is already in use by another process; choose another port, or 0 for a free one, or -1 to turn metrics off`,
    );
  });

  it("refuses a busy gRPC port with a ConfigError naming --port", async () => {
    const port = await busyPort();
    const failure = await runServices([], { env: {}, argv: ["--port", String(port), "--metrics-port", "-1", "--log-level", "silent"] }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as Error).message).toMatch(new RegExp(`^--port \\(env FUNNEL_PORT\\): port ${port} on 127\\.0\\.0\\.1 is already in use by another process; choose another port, or 0 for a free one$`));
  });
});

describe("runServices and FUNNEL_* variables", () => {
  it("refuses a variable no setting of the process reads, naming the nearest known one", async () => {
    const failure = await runServices([], { env: { FUNNEL_LOG_LEVL: "debug", FUNNEL_PORT: "0" }, argv: quiet }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as Error).message).toMatch(/^unknown environment variable FUNNEL_LOG_LEVL \(did you mean FUNNEL_LOG_LEVEL\?\): no setting of this process reads it/);
  });

  it("refuses another module's setting in a process that does not run that module", async () => {
    const own = recordingModule("alpha", { size: setting.integer({ env: "FUNNEL_ALPHA_SIZE", flag: "--alpha-size", default: 1, description: "a" }) }, {});
    const failure = await runServices([own], { env: { FUNNEL_BETA_SIZE: "2" }, argv: quiet }).catch((e: unknown) => e);
    // Nothing close enough to be a misspelling: no suggestion.
    expect((failure as Error).message).toMatch(/^unknown environment variable FUNNEL_BETA_SIZE: no setting of this process reads it/);
    const running = await runServices([own], { env: { FUNNEL_ALPHA_SIZE: "2", PATH: "/bin" }, argv: quiet });
    await running.shutdown();
  });
});

/** A module that records what its register received, so a test can see exactly which values it could read. */
function recordingModule<S extends Record<string, any>>(namespace: string, settings: S, seen: Record<string, unknown>): ServiceModule<S> {
  return {
    name: namespace,
    namespace,
    settings,
    register(_server, config, _log, shared) {
      seen[namespace] = { config, serving: { port: shared.serving.port } };
      return async () => undefined;
    },
  };
}

const quiet = ["--port", "0", "--metrics-port", "-1", "--log-level", "silent"];

describe("settings namespaced per module", () => {
  const cache = (namespace: string, env = `FUNNEL_${namespace.toUpperCase()}_CACHE_ENTRIES`, flag = `--${namespace}-cache-entries`) =>
    setting.integer({ env, flag, default: 10, min: 0, description: `${namespace} cache size.` });

  it("gives each module only its own values (plus the serving config), shared groups included", async () => {
    const seen: Record<string, unknown> = {};
    const running = await runServices(
      [recordingModule("sentiment", { cacheEntries: cache("sentiment") }, seen), recordingModule("embedding", { cacheEntries: cache("embedding"), model: modelSettings }, seen)],
      { env: { FUNNEL_EMBEDDING_CACHE_ENTRIES: "7", FUNNEL_REGISTRY: "mlflow" }, argv: [...quiet, "--sentiment-cache-entries", "3", "--registry-dir", "/models"] },
    );
    await running.server.shutdown();
    expect(seen.sentiment).toEqual({ config: { cacheEntries: 3 }, serving: { port: 0 } });
    expect(seen.embedding).toEqual({
      config: {
        cacheEntries: 7,
        model: {
          registry: {
            backend: "mlflow",
            dataDir: "/models",
            mlflowUrl: "",
            mlflowCaFile: "",
            mlflowClientCertFile: "",
            mlflowUsername: "",
            mlflowPassword: "",
            mlflowPasswordFile: "",
            mlflowToken: "",
            mlflowTokenFile: "",
            actor: "",
          },
          slots: { cacheDir: ".data/model-cache", pollMs: 2000 },
          pseudonym: { salt: "", saltFile: "" },
          drift: { window: 10000, minObservations: 100 },
        },
      },
      serving: { port: 0 },
    });
  });

  it("lists every setting once in --help, shared groups included", () => {
    const spec = settingsOf([recordingModule("sentiment", { cacheEntries: cache("sentiment") }, {}), recordingModule("embedding", { model: modelSettings }, {}), recordingModule("similarity", { model: modelSettings }, {})]);
    const help = formatConfigHelp(spec);
    for (const flag of ["--port", "--metrics-port", "--sentiment-cache-entries", "--registry", "--registry-dir", "--mlflow-tracking-uri", "--registry-actor", "--pseudonym-salt"]) {
      expect(help.match(new RegExp(`^  ${flag} <`, "gm")), flag).toHaveLength(1);
    }
    expect(help).toContain("(env MLFLOW_TRACKING_URI, default \"\")");
  });

  it("refuses at start-up a flag or env var declared by two modules, an un-namespaced setting, and a reused namespace", async () => {
    const start = (modules: ServiceModule<any>[]) => runServices(modules, { env: {}, argv: quiet }).then(
      (running) => running.server.shutdown().then(() => "started"),
      (error: unknown) => error,
    );
    const stolenFlag = { stolen: cache("embedding", "FUNNEL_EMBEDDING_CACHE", "--embedding-cache-entries") };
    expect(await start([recordingModule("embedding", { cacheEntries: cache("embedding") }, {}), recordingModule("embedding-two", {}, {}), { ...recordingModule("similarity", {}, {}), settings: { shared: stolenFlag } }])).toEqual(
      new ConfigError("--embedding-cache-entries is declared by two settings, modules.embedding.cacheEntries and modules.similarity.shared.stolen; each flag and env var must belong to one setting"),
    );
    expect(await start([recordingModule("sentiment", { cacheEntries: cache("embedding") }, {})])).toEqual(
      new ConfigError("module sentiment: setting cacheEntries (--embedding-cache-entries, FUNNEL_EMBEDDING_CACHE_ENTRIES) must be namespaced as --sentiment-… and FUNNEL_SENTIMENT_…"),
    );
    expect(await start([recordingModule("sentiment", {}, {}), recordingModule("sentiment", {}, {})])).toEqual(
      new ConfigError('two modules use the settings namespace "sentiment"; each module needs its own'),
    );
    expect(await start([{ ...recordingModule("sentiment", {}, {}), settings: { port: setting.integer({ env: "FUNNEL_PORT", flag: "--port", default: 1, description: "x" }) } }])).toBeInstanceOf(ConfigError);
  });
});
