import path from "node:path";
import cliProgress from "cli-progress";
import Table from "cli-table3";
import { Command, InvalidArgumentError as CommanderArgumentError, Option } from "commander";
import { aliasVersionAt } from "./alias-history.js";
import { readRegistryConfig, registryFromConfig, type RegistryConfig } from "./config.js";
import { diffMetrics } from "./diff-metrics.js";
import { InvalidArgumentError } from "./errors.js";
import type { AliasEvent, ModelRegistry, ProgressListener } from "./model-registry.js";
import { registerAndMaybePromote, rollbackAlias } from "./register-and-maybe-promote.js";

export interface CliIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Progress bars only make sense on a terminal; tests and pipes get none. */
  interactive: boolean;
}

interface GlobalOptions {
  backend?: "file" | "mlflow";
  dir?: string;
  mlflowUrl?: string;
  actor?: string;
}

function positiveInt(value: string): number {
  if (!/^v?\d+$/.test(value) || Number(value.replace(/^v/, "")) < 1) {
    throw new CommanderArgumentError(`expected a version number like 3 or v3, got "${value}"`);
  }
  return Number(value.replace(/^v/, ""));
}

function formatNumber(value: number | undefined): string {
  if (value === undefined) return "—";
  return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+$/, "");
}

function formatDelta(value: number | undefined): string {
  if (value === undefined) return "—";
  return value > 0 ? `+${formatNumber(value)}` : formatNumber(value);
}

function eventsTable(events: AliasEvent[]): string {
  const table = new Table({ head: ["at", "alias", "action", "from", "to", "actor", "reason"], style: { head: [], border: [] } });
  for (const e of events) {
    table.push([e.at, e.alias, e.action, e.previousVersion ?? "—", e.newVersion ?? "—", e.actor, e.reason ?? ""]);
  }
  return table.toString();
}

/** Builds the `registry` command line. Kept apart from cli.ts so tests can run it in-process with real registries. */
export function buildCli(io: CliIo): Command {
  const program = new Command("registry")
    .description("Funnel model registry: register, promote, roll back and download model versions")
    .addOption(new Option("--backend <backend>", "registry backend (overrides FUNNEL_REGISTRY)").choices(["file", "mlflow"]))
    .option("--dir <path>", "file backend data directory (overrides FUNNEL_REGISTRY_DIR)")
    .option("--mlflow-url <url>", "MLflow tracking server (overrides MLFLOW_TRACKING_URI)")
    .option("--actor <name>", "who is recorded in the audit trail (overrides FUNNEL_REGISTRY_ACTOR)")
    .showHelpAfterError()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  const open = (): ModelRegistry => {
    const g = program.opts<GlobalOptions>();
    const base = readRegistryConfig(io.env, io.cwd);
    const config: RegistryConfig = {
      ...base,
      ...(g.backend ? { backend: g.backend } : {}),
      ...(g.dir ? { dataDir: path.resolve(io.cwd, g.dir) } : {}),
      ...(g.mlflowUrl ? { mlflowUrl: g.mlflowUrl } : {}),
      ...(g.actor ? { actor: g.actor } : {}),
    };
    return registryFromConfig(config);
  };

  const progress = (label: string): { listener: ProgressListener | undefined; stop: () => void } => {
    if (!io.interactive) return { listener: undefined, stop: () => undefined };
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% {value}/{total} bytes {file}`, hideCursor: true, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      listener: (p) => {
        if (!started) {
          bar.start(p.totalBytes, 0, { file: p.file });
          started = true;
        }
        bar.update(p.doneBytes, { file: p.file });
      },
      stop: () => {
        if (started) bar.stop();
        started = false;
      },
    };
  };

  program
    .command("list")
    .argument("[model]", "show the versions of this model")
    .description("list models, or the versions of one model")
    .action(async (model: string | undefined) => {
      const registry = open();
      if (model === undefined) {
        const table = new Table({ head: ["model", "versions", "latest", "aliases"], style: { head: [], border: [] } });
        for (const m of await registry.listModels()) {
          const aliases = Object.entries(m.aliases).map(([a, v]) => `${a}→${v}`).join(", ");
          table.push([m.name, m.versionCount, m.latestVersion, aliases]);
        }
        io.out(`${table.toString()}\n`);
        return;
      }
      const table = new Table({ head: ["version", "registered", "by", "status", "aliases"], style: { head: [], border: [] } });
      for (const v of await registry.listVersions(model)) {
        table.push([v.version, v.registeredAt, v.registeredBy, v.archived ? "archived" : "active", v.aliases.join(", ")]);
      }
      io.out(`${table.toString()}\n`);
    });

  program
    .command("show")
    .argument("<model>")
    .argument("<ref>", "version number (3, v3) or alias (production)")
    .description("show one version: metrics, params, lineage, files")
    .action(async (model: string, ref: string) => {
      const v = await open().resolve(model, ref);
      const m = v.manifest;
      const lines = [
        `${v.model} v${v.version}${v.aliases.length ? ` (${v.aliases.join(", ")})` : ""}${v.archived ? " [archived]" : ""}`,
        `kind:            ${m.kind}`,
        `created:         ${m.createdAt}`,
        `registered:      ${v.registeredAt} by ${v.registeredBy}`,
        `source:          ${v.source}${v.runId ? ` (run ${v.runId})` : ""}`,
        `data:            ${m.lineage.dataFingerprint}`,
        `git commit:      ${m.lineage.gitCommit ?? "—"}`,
        `seed:            ${m.lineage.seed ?? "—"}`,
        `metrics:         ${Object.entries(m.metrics).map(([k, x]) => `${k}=${formatNumber(x)}`).join(" ") || "—"}`,
        `params:          ${Object.entries(m.params).map(([k, x]) => `${k}=${String(x)}`).join(" ") || "—"}`,
        `files:`,
        ...Object.entries(m.files).map(([rel, f]) => `  ${rel}  ${f.bytes} B  sha256:${f.sha256.slice(0, 12)}…`),
      ];
      io.out(`${lines.join("\n")}\n`);
    });

  program
    .command("register")
    .argument("<model>")
    .argument("<dir>", "model directory with manifest.json")
    .option("--promote-if-better <metric>", "move --alias to the new version only if it beats the current one on this metric")
    .option("--alias <alias>", "alias for --promote-if-better", "candidate")
    .option("--lower-is-better", "for --promote-if-better: a smaller metric wins", false)
    .description("register a model directory as a new version")
    .action(async (model: string, dir: string, opts: { promoteIfBetter?: string; alias: string; lowerIsBetter: boolean }) => {
      const registry = open();
      const bar = progress("storing");
      try {
        const result = await registerAndMaybePromote(registry, path.resolve(io.cwd, dir), {
          model,
          ...(bar.listener ? { onProgress: bar.listener } : {}),
          ...(opts.promoteIfBetter
            ? { promoteIfBetter: { metric: opts.promoteIfBetter, alias: opts.alias, lowerIsBetter: opts.lowerIsBetter } }
            : {}),
        });
        bar.stop();
        io.out(`registered ${result.version.model} v${result.version.version}\n`);
        if (opts.promoteIfBetter) {
          io.out(result.promoted ? `promoted to "${opts.alias}": ${result.reason}\n` : `not promoted to "${opts.alias}": ${result.reason}\n`);
        }
      } finally {
        bar.stop();
      }
    });

  program
    .command("promote")
    .argument("<model>")
    .argument("<version>", "version number", positiveInt)
    .requiredOption("--alias <alias>", "alias to move, e.g. production")
    .option("--reason <text>", "recorded in the audit trail")
    .description("point an alias at a version")
    .action(async (model: string, version: number, opts: { alias: string; reason?: string }) => {
      const event = await open().setAlias(model, opts.alias, version, opts.reason ? { reason: opts.reason } : {});
      io.out(`${model} ${event.alias}: ${event.previousVersion ?? "(unset)"} → ${event.newVersion}\n`);
    });

  program
    .command("rollback")
    .argument("<model>")
    .requiredOption("--alias <alias>", "alias to move back, e.g. production")
    .option("--reason <text>", "recorded in the audit trail")
    .description("move an alias back to the version it held before, per the audit trail")
    .action(async (model: string, opts: { alias: string; reason?: string }) => {
      const event = await rollbackAlias(open(), model, opts.alias, opts.reason);
      io.out(`${model} ${event.alias}: rolled back ${event.previousVersion} → ${event.newVersion}\n`);
    });

  program
    .command("diff")
    .argument("<model>")
    .argument("<v1>", "version or alias")
    .argument("<v2>", "version or alias")
    .description("metrics of two versions side by side")
    .action(async (model: string, ref1: string, ref2: string) => {
      const registry = open();
      const [a, b] = await Promise.all([registry.resolve(model, ref1), registry.resolve(model, ref2)]);
      const table = new Table({ head: ["metric", `v${a.version}`, `v${b.version}`, "Δ"], style: { head: [], border: [] }, colAligns: ["left", "right", "right", "right"] });
      for (const row of diffMetrics(a.manifest.metrics, b.manifest.metrics)) {
        table.push([row.metric, formatNumber(row.left), formatNumber(row.right), formatDelta(row.delta)]);
      }
      io.out(`${table.toString()}\n`);
      if (a.manifest.lineage.dataFingerprint !== b.manifest.lineage.dataFingerprint) {
        io.out(`note: trained on different data (${a.manifest.lineage.dataFingerprint} vs ${b.manifest.lineage.dataFingerprint})\n`);
      }
    });

  program
    .command("history")
    .argument("<model>")
    .option("--alias <alias>", "only this alias")
    .option("--at <time>", "with --alias: which version the alias pointed to at this ISO time")
    .description("the alias audit trail, oldest first")
    .action(async (model: string, opts: { alias?: string; at?: string }) => {
      const events = await open().aliasHistory(model, opts.alias);
      if (opts.at !== undefined) {
        if (!opts.alias) throw new InvalidArgumentError("--at needs --alias");
        const at = new Date(opts.at);
        if (Number.isNaN(at.getTime())) throw new InvalidArgumentError(`--at "${opts.at}" is not a date; use ISO 8601, e.g. 2026-11-26T14:00:00Z`);
        const version = aliasVersionAt(events, opts.alias, at);
        io.out(`${model} ${opts.alias} at ${at.toISOString()}: ${version === null ? "(unset)" : `v${version}`}\n`);
        return;
      }
      io.out(`${eventsTable(events)}\n`);
    });

  program
    .command("archive")
    .argument("<model>")
    .argument("<version>", "version number", positiveInt)
    .description("archive a version: it stays readable but can no longer receive aliases")
    .action(async (model: string, version: number) => {
      const v = await open().archive(model, version);
      io.out(`archived ${v.model} v${v.version}\n`);
    });

  program
    .command("download")
    .argument("<model>")
    .argument("<ref>", "version number or alias")
    .argument("<dest>", "new or empty directory")
    .description("download a version's artifacts and verify every sha256")
    .action(async (model: string, ref: string, dest: string) => {
      const bar = progress("downloading");
      try {
        const result = await open().download(model, ref, path.resolve(io.cwd, dest), bar.listener ? { onProgress: bar.listener } : {});
        bar.stop();
        io.out(`downloaded ${result.version.model} v${result.version.version} to ${result.dir} (${Object.keys(result.version.manifest.files).length} files verified)\n`);
      } finally {
        bar.stop();
      }
    });

  return program;
}
