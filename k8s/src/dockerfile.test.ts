// The image recipe the manifests run (root Dockerfile), held to the same rules: pinned base image, a build
// stage apart from the runtime stage, production dependencies only, a numeric non-root user.
// (serving-dependencies.test.ts checks what those production dependencies are.)
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const dockerfile = readFileSync(path.join(repoRoot, "Dockerfile"), "utf8");
const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"));
const stages = instructions.filter((line) => /^FROM /i.test(line));
const args = new Map(
  instructions
    .filter((line) => /^ARG \w+=/.test(line))
    .map((line) => line.slice(4).split("=") as [string, string]),
);
const finalStage = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));

/** The instructions of the stage named `name` (up to the next FROM). */
function stage(name: string): string[] {
  const from = stages.find((line) => new RegExp(` AS ${name}$`).test(line));
  if (!from) throw new Error(`no stage ${name}`);
  const start = instructions.indexOf(from);
  const next = instructions.findIndex((line, i) => i > start && /^FROM /i.test(line));
  return instructions.slice(start, next === -1 ? undefined : next);
}

describe("Dockerfile", () => {
  it("is multi-stage, every base image pinned by digest on a supported Node LTS line (or an earlier stage)", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const earlier = new Set<string>();
    for (const line of stages) {
      const [, from, , alias] = line.split(/\s+/);
      const image = from!.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? "");
      if (!earlier.has(image)) {
        // A tag can be moved to other content; a digest cannot.
        expect(image, line).toMatch(/^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/);
        // Node 20 left security support in April 2026: an even (LTS) line from 22 on.
        const major = Number(/^node:(\d+)/.exec(image)?.[1]);
        expect(major >= 22 && major % 2 === 0, `${image}: a supported Node LTS line`).toBe(true);
      }
      if (alias) earlier.add(alias);
    }
  });

  it("copies the package manifests and runs npm ci before the sources, and copies every workspace's manifest", () => {
    const manifests = stage("manifests");
    const workspaces = execFileSync("git", ["ls-files", "*package.json"], { cwd: repoRoot, encoding: "utf8" })
      .split("\n")
      .filter((file) => file.endsWith("package.json") && file !== "package.json");
    for (const file of workspaces) expect(manifests, file).toContain(`COPY ${file} ${path.posix.dirname(file)}/`);
    expect(manifests.some((line) => /^COPY \. /.test(line))).toBe(false);
    for (const name of ["deps", "training-deps"]) {
      const lines = stage(name);
      const install = lines.findIndex((line) => /npm ci --omit=dev/.test(line));
      const sources = lines.findIndex((line) => /^COPY \. /.test(line));
      expect(install, name).toBeGreaterThan(-1);
      expect(sources, name).toBeGreaterThan(install);
    }
  });

  it("has a training target for the retrain CronJob: production dependencies of training only, non-root", () => {
    expect(stage("training-deps")).toContain("RUN node tools/production-workspaces.mjs training > /tmp/workspaces && npm ci --omit=dev --no-audit --no-fund");
    const training = stage("training");
    expect(training).toContain("USER 10001:10001");
    expect(training.at(-1)).toBe('ENTRYPOINT ["node", "--import", "tsx", "src/cli/main.ts"]');
  });

  it("installs only production dependencies of the one service (its workspaces narrowed first)", () => {
    expect(stage("deps").some((line) => /node tools\/production-workspaces\.mjs "services\/\$\{SERVICE\}" > \/tmp\/workspaces .*&& npm ci --omit=dev /.test(line))).toBe(true);
  });

  it("runs the final stage as a numeric non-root user, with no npm in it", () => {
    const user = finalStage.find((line) => line.startsWith("USER "));
    expect(user).toMatch(/^USER [1-9]\d*(:[1-9]\d*)?$/);
    expect(finalStage.some((line) => /npm (ci|install)/.test(line))).toBe(false);
    expect(finalStage.at(-1)).toBe('CMD ["node", "--import", "tsx", "src/main.ts"]');
  });
});
