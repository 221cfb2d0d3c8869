import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { ModelHub } from "./model-hub.js";
import { loadConfig } from "./config.js";
import { modelSettings } from "./model-settings.js";

const hub = () => new ModelHub({ config: loadConfig(modelSettings, { env: {}, argv: [] }), log: createLogger("silent"), registry: new Registry() });

describe("ModelHub.shareWhileHeld", () => {
  it("hands every holder of a key the same object until the last one releases it", () => {
    const models = hub();
    let created = 0;
    const make = () => ({ n: ++created });
    const a = models.shareWhileHeld("two-tower\u00001", make);
    const b = models.shareWhileHeld("two-tower\u00001", make);
    const other = models.shareWhileHeld("two-tower\u00002", make);
    expect(b.value).toBe(a.value);
    expect(other.value).not.toBe(a.value);
    a.release();
    a.release(); // a second release of one lease does not drop the other holder's share
    expect(models.shareWhileHeld("two-tower\u00001", make).value).toBe(b.value);
    expect(created).toBe(2);
  });

  it("starts afresh once every holder released the key (a version loaded again gets a new profile)", () => {
    const models = hub();
    const first = models.shareWhileHeld("k", () => ({}));
    first.release();
    expect(models.shareWhileHeld("k", () => ({})).value).not.toBe(first.value);
  });

  it("reads the process's drift settings", () => {
    const models = new ModelHub({ config: loadConfig(modelSettings, { env: { FUNNEL_DRIFT_WINDOW: "500" }, argv: ["--drift-min-observations", "7"] }), log: createLogger("silent"), registry: new Registry() });
    expect(models.drift).toEqual({ window: 500, minObservations: 7 });
  });
});
