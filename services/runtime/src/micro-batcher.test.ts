import { describe, expect, it } from "vitest";
import { MicroBatcher, QueueFullError } from "./micro-batcher.js";

describe("MicroBatcher", () => {
  it("runs a batch as soon as it is full, preserving order", async () => {
    const batches: number[][] = [];
    const batcher = new MicroBatcher<number, number>({
      maxBatchSize: 3,
      maxDelayMs: 10_000,
      run: async (inputs) => {
        batches.push(inputs);
        return inputs.map((x) => x * 10);
      },
    });
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((x) => batcher.submit(x)));
    expect(results).toEqual([10, 20, 30, 40, 50, 60]);
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6]]);
  });

  it("while idle, runs what was submitted in the same turn together, without waiting maxDelayMs", async () => {
    const batches: string[][] = [];
    const batcher = new MicroBatcher<string, string>({ maxBatchSize: 100, maxDelayMs: 10_000, run: async (inputs) => {
        batches.push(inputs);
        return inputs.map((s) => s.toUpperCase());
      },
    });
    expect(await Promise.all([batcher.submit("a"), batcher.submit("b")])).toEqual(["A", "B"]);
    expect(batches).toEqual([["a", "b"]]);
  });

  it("while a batch runs, collects new items and runs them when it finishes (or after maxDelayMs)", async () => {
    const batches: string[][] = [];
    let finishFirst: () => void = () => {};
    const batcher = new MicroBatcher<string, string>({ maxBatchSize: 100, maxDelayMs: 10_000, run: async (inputs) => {
        batches.push(inputs);
        if (batches.length === 1) await new Promise<void>((resolve) => (finishFirst = resolve));
        return inputs.map((s) => s.toUpperCase());
      },
    });
    const first = batcher.submit("a");
    await new Promise((resolve) => setImmediate(resolve));
    expect(batcher.active).toBe(1);
    const later = [batcher.submit("b"), batcher.submit("c")];
    await new Promise((resolve) => setImmediate(resolve));
    expect(batcher.queued).toBe(2);
    finishFirst();
    expect(await Promise.all([first, ...later])).toEqual(["A", "B", "C"]);
    expect(batches).toEqual([["a"], ["b", "c"]]);

    const timed = new MicroBatcher<string, string>({ maxBatchSize: 100, maxDelayMs: 20, run: async (inputs) => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        return inputs;
      },
    });
    void timed.submit("x");
    await new Promise((resolve) => setImmediate(resolve));
    const started = Date.now();
    const waiting = timed.submit("y");
    await new Promise((resolve) => setTimeout(resolve, 60));
    // maxDelayMs (20) passed while the first batch (200 ms) still ran: "y" started in a batch of its own.
    expect(timed.active).toBe(2);
    expect(await waiting).toBe("y");
    expect(Date.now() - started).toBeLessThan(400);
  });

  it("fails only the item whose result is an Error", async () => {
    const batcher = new MicroBatcher<number, number>({ maxBatchSize: 2, maxDelayMs: 5, run: async (xs) => xs.map((x) => (x < 0 ? new Error(`negative ${x}`) : x)) });
    const [ok, bad] = await Promise.allSettled([batcher.submit(1), batcher.submit(-1)]);
    expect(ok).toEqual({ status: "fulfilled", value: 1 });
    expect(bad).toMatchObject({ status: "rejected", reason: { message: "negative -1" } });
  });

  it("fails the whole batch when run throws or miscounts", async () => {
    const batcher = new MicroBatcher<number, number>({ maxBatchSize: 2, maxDelayMs: 5, run: async () => [1] });
    await expect(Promise.all([batcher.submit(1), batcher.submit(2)])).rejects.toThrow("batch function returned 1 results for 2 inputs");
  });

  it("applies back-pressure when the queue is full", async () => {
    const batcher = new MicroBatcher<number, number>({ maxBatchSize: 10, maxDelayMs: 50, maxQueue: 2, run: async (xs) => xs });
    const first = [batcher.submit(1), batcher.submit(2)];
    await expect(batcher.submit(3)).rejects.toBeInstanceOf(QueueFullError);
    expect(await Promise.all(first)).toEqual([1, 2]);
  });

  it("does not compute items whose caller gave up", async () => {
    const seen: number[] = [];
    const batcher = new MicroBatcher<number, number>({ maxBatchSize: 10, maxDelayMs: 20, run: async (xs) => {
        seen.push(...xs);
        return xs;
      },
    });
    const controller = new AbortController();
    const dropped = batcher.submit(1, controller.signal);
    const kept = batcher.submit(2);
    controller.abort(new Error("caller left"));
    await expect(dropped).rejects.toThrow("caller left");
    expect(await kept).toBe(2);
    expect(seen).toEqual([2]);
  });
});
