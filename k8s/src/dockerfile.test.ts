// The image recipe the manifests run (root Dockerfile), held to the same rules: pinned base image, a build
// stage apart from the runtime stage, production dependencies only, a numeric non-root user.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const dockerfile = readFileSync(new URL("../../Dockerfile", import.meta.url), "utf8");
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

describe("Dockerfile", () => {
  it("is multi-stage, every base image pinned to a version tag (or an earlier stage)", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const earlier = new Set<string>();
    for (const stage of stages) {
      const [, from, , alias] = stage.split(/\s+/);
      const image = from!.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? "");
      if (!earlier.has(image)) expect(image, stage).toMatch(/^[\w./-]+:\d+(\.\d+)+[\w.-]*$/);
      if (alias) earlier.add(alias);
    }
  });

  it("has a training target for the retrain CronJob: production dependencies of training only, non-root", () => {
    const stage = stages.find((line) => / AS training$/.test(line));
    expect(stage).toBeDefined();
    expect(instructions).toContain("RUN npm ci --omit=dev --no-audit --no-fund --workspace training");
    const training = instructions.slice(instructions.indexOf(stage!), instructions.indexOf(stages[stages.indexOf(stage!) + 1]!));
    expect(training).toContain("USER 10001:10001");
    expect(training.at(-1)).toBe('ENTRYPOINT ["node", "--import", "tsx", "src/cli/main.ts"]');
  });

  it("installs only production dependencies of the one service", () => {
    expect(instructions.some((line) => /npm ci --omit=dev .*--workspace "services\/\$\{SERVICE\}"/.test(line))).toBe(true);
  });

  it("runs the final stage as a numeric non-root user, with no npm in it", () => {
    const user = finalStage.find((line) => line.startsWith("USER "));
    expect(user).toMatch(/^USER [1-9]\d*(:[1-9]\d*)?$/);
    expect(finalStage.some((line) => /npm (ci|install)/.test(line))).toBe(false);
    expect(finalStage.at(-1)).toBe('CMD ["node", "--import", "tsx", "src/main.ts"]');
  });
});
