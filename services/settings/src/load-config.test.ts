import { describe, expect, it } from "vitest";
import { distinctSettings, formatConfigHelp, loadConfig } from "./load-config.js";
import { ConfigError, setting } from "./setting.js";

const serverSettings = {
  port: setting.integer({ env: "X_PORT", flag: "--port", default: 50051, min: 0, max: 65535, description: "gRPC port." }),
  logLevel: setting.oneOf({ env: "X_LOG_LEVEL", flag: "--log-level", default: "info", values: ["info", "debug"] as const, description: "Log level." }),
};

describe("loadConfig", () => {
  it("uses defaults, then env, then flags", () => {
    expect(loadConfig(serverSettings).port).toBe(50051);
    expect(loadConfig(serverSettings, { env: { X_PORT: "7000" } }).port).toBe(7000);
    const config = loadConfig(serverSettings, { env: { X_PORT: "7000" }, argv: ["--port", "8000", "--log-level=debug"] });
    expect(config.port).toBe(8000);
    expect(config.logLevel).toBe("debug");
  });

  it("stops on a bad value with a message naming the setting and the rule", () => {
    expect(() => loadConfig(serverSettings, { env: { X_PORT: "70000" } })).toThrow(ConfigError);
    expect(() => loadConfig(serverSettings, { env: { X_PORT: "70000" } })).toThrow(/env X_PORT \(port\): must be between 0 and 65535/);
    expect(() => loadConfig(serverSettings, { argv: ["--port", "eighty"] })).toThrow(/flag --port \(port\): expected an integer/);
    expect(() => loadConfig(serverSettings, { argv: ["--log-level", "loud"] })).toThrow(/must be one of info, debug/);
  });

  it("rejects unknown flags and flags without a value", () => {
    expect(() => loadConfig(serverSettings, { argv: ["--prot", "1"] })).toThrow(/unknown flag --prot; known flags: .*--port/);
    expect(() => loadConfig(serverSettings, { argv: ["--port"] })).toThrow(/flag --port needs a value/);
  });

  it("parses booleans and text, and lists every setting in the help", () => {
    const spec = {
      verbose: setting.boolean({ env: "X_VERBOSE", flag: "--verbose", default: false, description: "Talk more." }),
      name: setting.text({ env: "X_NAME", flag: "--name", default: "a", description: "A name." }),
    };
    expect(loadConfig(spec, { env: { X_VERBOSE: "yes", X_NAME: "b" } })).toEqual({ verbose: true, name: "b" });
    expect(() => loadConfig(spec, { env: { X_NAME: "  " } })).toThrow(/must not be empty/);
    expect(formatConfigHelp(spec)).toContain("--verbose <true|false>  (env X_VERBOSE, default false)");
  });
});

describe("settings trees", () => {
  const registry = { dir: setting.text({ env: "X_REGISTRY_DIR", flag: "--registry-dir", default: ".data", description: "Registry dir." }) };
  const tree = {
    server: serverSettings,
    modules: {
      a: { size: setting.integer({ env: "X_A_SIZE", flag: "--a-size", default: 1, description: "A's size." }), shared: registry },
      b: { size: setting.integer({ env: "X_B_SIZE", flag: "--b-size", default: 2, description: "B's size." }), shared: registry },
    },
  };

  it("resolves nested groups into nested values; keys are local to their group", () => {
    expect(loadConfig(tree, { argv: ["--a-size", "5", "--registry-dir", "/r"], env: { X_B_SIZE: "7" } })).toEqual({
      server: { port: 50051, logLevel: "info" },
      modules: { a: { size: 5, shared: { dir: "/r" } }, b: { size: 7, shared: { dir: "/r" } } },
    });
  });

  it("counts a shared group once, in the help too", () => {
    expect(distinctSettings(tree).map((leaf) => leaf.spec.flag)).toEqual(["--port", "--log-level", "--a-size", "--registry-dir", "--b-size"]);
    expect(formatConfigHelp(tree).match(/--registry-dir/g)).toHaveLength(1);
  });

  it("refuses two different settings with one flag or one env var, naming both", () => {
    const clash = { a: tree.modules.a, b: { size: setting.integer({ env: "X_B_SIZE", flag: "--a-size", default: 2, description: "B's size." }) } };
    expect(() => loadConfig(clash)).toThrow(new ConfigError("--a-size is declared by two settings, a.size and b.size; each flag and env var must belong to one setting"));
    const envClash = { a: tree.modules.a, b: { size: setting.integer({ env: "X_A_SIZE", flag: "--b-size", default: 2, description: "B's size." }) } };
    expect(() => formatConfigHelp(envClash)).toThrow(/X_A_SIZE is declared by two settings, a\.size and b\.size/);
  });
});

describe("setting.number", () => {
  it("parses finite decimals within its range and names what is wrong otherwise", () => {
    const weight = setting.number({ env: "X_W", flag: "--w", default: 0.3, min: 0, max: 1, description: "A weight." });
    expect(weight.parse(" 0.25 ")).toBe(0.25);
    expect(() => weight.parse("1.5")).toThrow(/between 0 and 1, got 1.5/);
    expect(() => weight.parse("NaN")).toThrow(/expected a number/);
    expect(() => weight.parse("")).toThrow(/expected a number/);
  });
});

describe("strictEnvPrefix", () => {
  it("refuses an undeclared variable under the prefix, naming the nearest declared one and never the value", () => {
    const source = { env: { X_PORT: "1", X_LOG_LEVLE: "secret-ish", OTHER: "ignored" }, strictEnvPrefix: "X_" };
    expect(() => loadConfig(serverSettings, source)).toThrow(ConfigError);
    expect(() => loadConfig(serverSettings, source)).toThrow(/unknown environment variable X_LOG_LEVLE \(did you mean X_LOG_LEVEL\?\)/);
    expect(() => loadConfig(serverSettings, source)).not.toThrow(/secret-ish/);
  });

  it("names every unknown variable, and accepts declared ones and names outside the prefix", () => {
    expect(() => loadConfig(serverSettings, { env: { X_PROT: "1", X_LOGLEVEL: "info" }, strictEnvPrefix: "X_" })).toThrow(
      /unknown environment variables X_LOGLEVEL \(did you mean X_LOG_LEVEL\?\), X_PROT \(did you mean X_PORT\?\)/,
    );
    expect(loadConfig(serverSettings, { env: { X_PORT: "7", HOME: "/tmp" }, strictEnvPrefix: "X_" }).port).toBe(7);
    // Without the option, unknown variables are not this loader's business (the registry CLI reads a subset).
    expect(loadConfig(serverSettings, { env: { X_PROT: "1" } }).port).toBe(50051);
  });
});
