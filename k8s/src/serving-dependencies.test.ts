// What each service image installs: the Dockerfile narrows the root's workspaces to the service's production
// closure (tools/production-workspaces.mjs) and runs `npm ci --omit=dev`. This runs the same two steps on a
// copy of the manifests and the lockfile, with npm's own --dry-run (no download), and reads the list of
// packages npm would add. No serving image may carry the training stack (tfjs, @funnel/training).
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const SERVICES = ["embedding", "similarity", "recommendation", "sentiment", "router"];
const FORBIDDEN = /^(@tensorflow\/|@funnel\/training$|@funnel\/platform$|@funnel\/loadtest$)/;

const copies: string[] = [];
afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** The root manifest, lockfile, .npmrc and every workspace's package.json, as the Dockerfile's first stage has them. */
function manifestsCopy(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "funnel-image-deps-"));
  copies.push(dir);
  const files = execFileSync("git", ["ls-files", "package.json", "*/package.json", "package-lock.json", ".npmrc"], { cwd: repoRoot, encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  for (const file of files) {
    mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    copyFileSync(path.join(repoRoot, file), path.join(dir, file));
  }
  return dir;
}

/** Packages `npm ci --omit=dev` would install in `dir` ("name version"), from npm's dry run. */
function productionInstall(dir: string): string[] {
  const output = execFileSync("npm", ["ci", "--omit=dev", "--dry-run", "--ignore-scripts", "--no-audit", "--no-fund"], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, npm_config_loglevel: "error" },
    maxBuffer: 16 * 1024 * 1024,
  });
  return output
    .split("\n")
    .map((line) => /^add (\S+) (\S+)$/.exec(line.trim()))
    .filter((match) => match !== null)
    .map((match) => match![1]!);
}

function narrow(dir: string, workspace: string): string[] {
  return execFileSync(process.execPath, [path.join(repoRoot, "tools", "production-workspaces.mjs"), workspace, "--root", dir], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
}

describe("serving images: production dependencies only", () => {
  it.each(SERVICES)("services/%s installs no training stack", (service) => {
    const dir = manifestsCopy();
    const workspaces = narrow(dir, `services/${service}`);
    expect(workspaces).toContain(`services/${service}`);
    expect(workspaces).not.toContain("training");
    const packages = productionInstall(dir);
    console.log(`services/${service}: ${packages.length} packages (workspaces: ${workspaces.join(", ")})`);
    expect(packages).toContain(`@funnel/${service}`);
    expect(packages).toContain("tsx");
    expect(packages.filter((name) => FORBIDDEN.test(name))).toEqual([]);
  }, 60_000);

  it("would fail without the narrowing: the plain install carries tfjs", () => {
    const packages = productionInstall(manifestsCopy());
    expect(packages).toContain("@tensorflow/tfjs");
  }, 60_000);
});
