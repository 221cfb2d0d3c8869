// Renders a Kustomize directory with the kustomize built into kubectl, the same build `kubectl apply -k` does.
import { spawnSync } from "node:child_process";
import { parseAllDocuments } from "yaml";

/** One rendered object; fields are read by the invariant checks, validated in full by validateResource. */
export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** The kubectl on PATH and its version line, or undefined when there is none. */
export function findKubectl(): { version: string } | undefined {
  const result = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
  if (result.error || result.status !== 0) return undefined;
  return { version: result.stdout.trim().split("\n").join("; ") };
}

/** `kubectl kustomize <dir>` parsed into objects; a build error throws with kustomize's own message. */
export function renderOverlay(dir: string): Resource[] {
  const result = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr.trim()}`);
  return parseAllDocuments(result.stdout).map((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`document ${index} of ${dir}: ${doc.errors[0]!.message}`);
    return doc.toJSON() as Resource;
  });
}
