import { describe, expect, it } from "vitest";
import { ConfigError, formatConfigHelp, loadConfig, servingSettings, setting } from "./config.js";

describe("loadConfig", () => {
  it("uses defaults, then env, then flags", () => {
    expect(loadConfig(servingSettings).port).toBe(50051);
    expect(loadConfig(servingSettings, { env: { FUNNEL_PORT: "7000" } }).port).toBe(7000);
    const config = loadConfig(servingSettings, { env: { FUNNEL_PORT: "7000" }, argv: ["--port", "8000", "--log-level=debug"] });
    expect(config.port).toBe(8000);
    expect(config.logLevel).toBe("debug");
  });

  it("stops on a bad value with a message naming the setting and the rule", () => {
    expect(() => loadConfig(servingSettings, { env: { FUNNEL_PORT: "70000" } })).toThrow(ConfigError);
    expect(() => loadConfig(servingSettings, { env: { FUNNEL_PORT: "70000" } })).toThrow(/env FUNNEL_PORT \(port\): must be between 0 and 65535/);
    expect(() => loadConfig(servingSettings, { argv: ["--port", "eighty"] })).toThrow(/flag --port \(port\): expected an integer/);
    expect(() => loadConfig(servingSettings, { argv: ["--log-level", "loud"] })).toThrow(/must be one of fatal, error/);
  });

  it("rejects unknown flags and flags without a value", () => {
    expect(() => loadConfig(servingSettings, { argv: ["--prot", "1"] })).toThrow(/unknown flag --prot; known flags: .*--port/);
    expect(() => loadConfig(servingSettings, { argv: ["--port"] })).toThrow(/flag --port needs a value/);
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
