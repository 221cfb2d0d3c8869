// Where a rollout step writes the router's experiment file: the file itself (a router started with
// --router-experiments <file> re-reads it), or the funnel-router-experiments ConfigMap through kubectl (the
// kubelet swaps the mounted file, the router re-reads it within about a minute).
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export interface ExperimentsTarget {
  /** Where the file lives, for logs. */
  readonly describe: string;
  read(): Promise<string>;
  write(text: string): Promise<void>;
}

/** The file on disk, replaced atomically (write beside it, rename) so the router never reads half a file. */
export function fileTarget(file: string): ExperimentsTarget {
  return {
    describe: file,
    read: () => readFile(file, "utf8"),
    async write(text) {
      const temporary = `${file}.rollout-${process.pid}`;
      await writeFile(temporary, text);
      await rename(temporary, file);
    },
  };
}

export const EXPERIMENTS_CONFIG_MAP = "funnel-router-experiments";
export const EXPERIMENTS_KEY = "experiments.yaml";

/**
 * The ConfigMap, through kubectl: read with `get -o jsonpath`, written as `create configmap --dry-run=client -o
 * yaml | apply -f -` (the ConfigMap is replaced whole, as `kubectl apply -k` would). `dryRun` passes
 * --dry-run=client to the apply; `manifestOf` renders the object a step would apply, offline.
 */
export function kubectlTarget(options: { namespace: string; kubectl?: string; dryRun?: boolean; context?: string }): ExperimentsTarget & { manifestOf(text: string): Promise<string> } {
  const kubectl = options.kubectl ?? "kubectl";
  const scope = [...(options.context ? ["--context", options.context] : []), "-n", options.namespace];
  const manifestOf = async (text: string): Promise<string> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "rollout-"));
    try {
      const file = path.join(dir, EXPERIMENTS_KEY);
      await writeFile(file, text);
      return execFileSync(kubectl, ["create", "configmap", EXPERIMENTS_CONFIG_MAP, `--from-file=${EXPERIMENTS_KEY}=${file}`, ...scope, "--dry-run=client", "-o", "yaml"], { encoding: "utf8" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  return {
    describe: `configmap/${EXPERIMENTS_CONFIG_MAP} in namespace ${options.namespace}`,
    manifestOf,
    async read() {
      return execFileSync(kubectl, ["get", "configmap", EXPERIMENTS_CONFIG_MAP, ...scope, "-o", `jsonpath={.data.experiments\\.yaml}`], { encoding: "utf8" });
    },
    async write(text) {
      const manifest = await manifestOf(text);
      execFileSync(kubectl, ["apply", ...scope, ...(options.dryRun ? ["--dry-run=client"] : []), "-f", "-"], { input: manifest, encoding: "utf8" });
    },
  };
}
