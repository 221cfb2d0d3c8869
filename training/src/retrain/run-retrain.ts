import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { ModelNotFoundError, type ModelRegistry } from "@funnel/registry";
import { splitEvents } from "../data/index.js";
import { loadDataset, type Dataset } from "../cli/load-dataset.js";
import type { RunConfig } from "../cli/run-config.js";
import { runTraining, servedUserRows } from "../cli/run-training.js";
import { checkCandidate, type CandidateCheck } from "./check-candidate.js";
import type { GateThresholds } from "./retrain-gates.js";
import { renderRetrainReport } from "./render-retrain-report.js";

/** The alias a passing candidate is put on; the gradual rollout (k8s/README.md) takes it from there. */
export const CANDIDATE_ALIAS = "candidate";
export const PRODUCTION_ALIAS = "production";

export interface RetrainOptions {
  /** Training config of the candidate (its `data` is ignored: the window below is what it trains on). */
  config: RunConfig;
  /** Event files or directories of them, plus optional attribute tables. */
  data: { paths: string[]; itemsFile?: string | undefined; usersFile?: string | undefined };
  /** Fresh events: timestamp in [since, until). */
  since?: Date | undefined;
  until?: Date | undefined;
  /** Latest share of the window's events held out for the gates; the candidate never trains on it. */
  holdout: number;
  /** Work directory: candidate/, production/, retrain-report.json, retrain-report.html. */
  out: string;
  registry: ModelRegistry;
  salt: string;
  gitCommit?: string | undefined;
  thresholds?: Partial<GateThresholds>;
  breakingChange?: string | undefined;
  latencyCalls?: number;
  progress?: boolean;
  log?: (line: string) => void;
}

export interface RetrainReport {
  model: string;
  passed: boolean;
  window: { since: string | null; until: string | null; events: number; eventsOutsideWindow: number; users: number; trainEvents: number; holdoutEvents: number };
  production: { version: number } | null;
  candidate: { dir: string; published: { version: number; alias: string } | null };
  breakingChange: string | null;
  gates: CandidateCheck["gates"];
  thresholds: GateThresholds;
  evaluation: CandidateCheck["evaluation"];
  report: { json: string; html: string };
}

/**
 * `npm run retrain`: trains a candidate on the fresh window (minus its latest `holdout` share), scores it and
 * the production version on that same held-out share, and runs every gate. All pass: the candidate is
 * registered and the `candidate` alias moved to it. Any fails: nothing is registered. Either way the report
 * is written (JSON and HTML) and returned; the caller decides the exit code.
 */
export async function runRetrain(options: RetrainOptions): Promise<RetrainReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { config, registry } = options;
  const out = path.resolve(options.out);
  const candidateDir = path.join(out, "candidate");
  const productionDir = path.join(out, "production");
  await rm(candidateDir, { recursive: true, force: true });
  await rm(productionDir, { recursive: true, force: true });
  await mkdir(out, { recursive: true });

  const loaded = await loadDataset({ files: await expandEventPaths(options.data.paths), itemsFile: options.data.itemsFile, usersFile: options.data.usersFile }, { progress: options.progress, log });
  const fresh = inWindow(loaded, options.since, options.until);
  const window = fresh.dataset.events;
  if (window.length === 0) throw new Error(`no events in the window ${describeWindow(options.since, options.until)} (${loaded.events.length} events read)`);
  // The same time cut evaluateModelDirectory makes: the candidate trains only on what comes before the holdout.
  const split = splitEvents(window, { strategy: "time", ratios: [1 - options.holdout, 0, options.holdout], seed: 0 });
  log(`window ${describeWindow(options.since, options.until)}: ${window.length} events (${fresh.outside} outside); training on ${split.train.length}, holding out the latest ${split.test.length} for the gates`);

  const production = await productionVersion(registry, config.name);
  log(production ? `production: ${config.name} version ${production}` : `production: no "${PRODUCTION_ALIAS}" alias on ${config.name}; comparing gates are skipped`);

  const trainingSet: Dataset = { ...fresh.dataset, events: split.train };
  const summary = await runTraining({ ...config, out: candidateDir }, { dataset: trainingSet, salt: options.salt, gitCommit: options.gitCommit, progress: options.progress, log });
  if (production !== null) await registry.download(config.name, production, productionDir);

  const check = await checkCandidate(candidateDir, {
    dataset: fresh.dataset,
    holdout: options.holdout,
    productionDir: production === null ? null : productionDir,
    parityInputs: { users: servedUserRows(trainingSet, summary.run.task.spec).tensors, items: summary.run.task.items },
    thresholds: options.thresholds,
    breakingChange: options.breakingChange,
    latencyCalls: options.latencyCalls,
    onStep: log,
  });

  let published: RetrainReport["candidate"]["published"] = null;
  if (check.passed) {
    const version = await registry.register(candidateDir, { model: config.name });
    const passedGates = check.gates.filter((g) => g.status === "pass").map((g) => g.gate);
    await registry.setAlias(config.name, CANDIDATE_ALIAS, version.version, { reason: `retrain: gates passed (${passedGates.join(", ")})` });
    published = { version: version.version, alias: CANDIDATE_ALIAS };
    log(`published ${config.name} version ${version.version}; alias "${CANDIDATE_ALIAS}" → ${version.version}`);
  } else {
    log(`gates failed (${check.gates.filter((g) => g.status === "fail").map((g) => g.gate).join(", ")}): nothing published`);
  }

  const report: RetrainReport = {
    model: config.name,
    passed: check.passed,
    window: {
      since: options.since?.toISOString() ?? null,
      until: options.until?.toISOString() ?? null,
      events: window.length,
      eventsOutsideWindow: fresh.outside,
      users: new Set(window.map((e) => e.userId)).size,
      trainEvents: split.train.length,
      holdoutEvents: split.test.length,
    },
    production: production === null ? null : { version: production },
    candidate: { dir: candidateDir, published },
    breakingChange: options.breakingChange ?? null,
    gates: check.gates,
    thresholds: check.thresholds,
    evaluation: check.evaluation,
    report: { json: path.join(out, "retrain-report.json"), html: path.join(out, "retrain-report.html") },
  };
  await writeFile(report.report.json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(report.report.html, renderRetrainReport(report));
  return report;
}

/** The version the `production` alias names, or null when the model or the alias does not exist yet. */
export async function productionVersion(registry: ModelRegistry, model: string): Promise<number | null> {
  try {
    return (await registry.getAliases(model))[PRODUCTION_ALIAS] ?? null;
  } catch (error) {
    if (error instanceof ModelNotFoundError) return null;
    throw error;
  }
}

/** Files stay as given; a directory means every event file in it (attribute tables are passed separately). */
export async function expandEventPaths(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    if (!(await stat(p)).isDirectory()) {
      files.push(p);
      continue;
    }
    const inside = (await readdir(p)).filter((f) => /\.(csv|jsonl)$/i.test(f) && !/\.(items|users)\.csv$/i.test(f)).sort();
    if (inside.length === 0) throw new Error(`${p} holds no event files (*.csv, *.jsonl)`);
    files.push(...inside.map((f) => path.join(p, f)));
  }
  return files;
}

/** Events with since ≤ timestamp < until; the count left out is reported so a wrong window is visible. */
export function inWindow(dataset: Dataset, since: Date | undefined, until: Date | undefined): { dataset: Dataset; outside: number } {
  const from = since?.getTime() ?? Number.NEGATIVE_INFINITY;
  const to = until?.getTime() ?? Number.POSITIVE_INFINITY;
  if (!(from < to)) throw new RangeError(`--since ${since?.toISOString()} must be before --until ${until?.toISOString()}`);
  const events = dataset.events.filter((e) => e.timestamp >= from && e.timestamp < to);
  return { dataset: { ...dataset, events }, outside: dataset.events.length - events.length };
}

function describeWindow(since: Date | undefined, until: Date | undefined): string {
  return `[${since?.toISOString() ?? "start"}, ${until?.toISOString() ?? "end"})`;
}
