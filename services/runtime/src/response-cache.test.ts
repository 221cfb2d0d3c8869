import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ResponseCache } from "./response-cache.js";

describe("ResponseCache", () => {
  it("computes once per key, evicts least recently used, and counts hits and misses", async () => {
    const registry = new Registry();
    const cache = new ResponseCache<{ v: number }>({ name: "test", maxEntries: 2, registry });
    let computed = 0;
    const get = (key: string) => cache.getOrCompute(key, () => ({ v: ++computed }));
    expect(get("a")).toEqual({ v: 1 });
    expect(get("a")).toEqual({ v: 1 });
    get("b");
    get("c"); // evicts a
    expect(get("a")).toEqual({ v: 4 });
    expect(cache.size).toBe(2);
    const text = await registry.metrics();
    expect(text).toContain('funnel_cache_lookups_total{cache="test",result="hit"} 1');
    expect(text).toContain('funnel_cache_lookups_total{cache="test",result="miss"} 4');
  });

  it("computes every time when disabled", () => {
    const cache = new ResponseCache<number[]>({ name: "off", maxEntries: 0 });
    let computed = 0;
    cache.getOrCompute("a", () => [++computed]);
    cache.getOrCompute("a", () => [++computed]);
    expect(computed).toBe(2);
  });
});
