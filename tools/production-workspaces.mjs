#!/usr/bin/env node
// Narrows the root package.json's "workspaces" to one workspace and the workspaces it needs in production
// (its `dependencies` on @funnel/* packages, transitively), and prints their folders one per line.
//
// Why: `npm ci --omit=dev --workspace X` still installs the production dependencies of *every* workspace
// (each workspace is a production dependency of the root), so a service image would carry the training
// stack (tfjs). With the root listing only X's production closure, `npm ci --omit=dev` installs just that;
// the lockfile stays as it is (entries of the workspaces left out are ignored). Used by the Dockerfile and by
// k8s/src/serving-dependencies.test.ts. Plain Node, no dependencies: it runs before anything is installed.
//
//   node tools/production-workspaces.mjs services/embedding [--root <dir>]
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const args = process.argv.slice(2);
const rootIndex = args.indexOf("--root");
const root = path.resolve(rootIndex === -1 ? "." : args[rootIndex + 1]);
const target = args.find((arg, i) => !arg.startsWith("--") && args[i - 1] !== "--root");
if (!target) {
  process.stderr.write("usage: node tools/production-workspaces.mjs <workspace folder, e.g. services/embedding> [--root <repo>]\n");
  process.exit(2);
}

const rootFile = path.join(root, "package.json");
const rootManifest = JSON.parse(readFileSync(rootFile, "utf8"));
/** Workspace folders from the root's patterns ("proto", "services/*"). */
const folders = rootManifest.workspaces.flatMap((pattern) => {
  if (!pattern.endsWith("/*")) return [pattern];
  const parent = pattern.slice(0, -2);
  return readdirSync(path.join(root, parent), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(root, parent, entry.name, "package.json")))
    .map((entry) => `${parent}/${entry.name}`);
});
const byName = new Map(folders.map((folder) => [JSON.parse(readFileSync(path.join(root, folder, "package.json"), "utf8")).name, folder]));
const wanted = target.replace(/\/$/, "");
if (!folders.includes(wanted)) {
  process.stderr.write(`${wanted} is not a workspace folder; known: ${folders.join(", ")}\n`);
  process.exit(2);
}

const needed = new Set();
const visit = (folder) => {
  if (needed.has(folder)) return;
  needed.add(folder);
  const manifest = JSON.parse(readFileSync(path.join(root, folder, "package.json"), "utf8"));
  for (const name of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) {
    const dependency = byName.get(name);
    if (dependency) visit(dependency);
  }
};
visit(wanted);

const workspaces = [...needed].sort();
writeFileSync(rootFile, `${JSON.stringify({ ...rootManifest, workspaces }, null, 2)}\n`);
process.stdout.write(`${workspaces.join("\n")}\n`);
