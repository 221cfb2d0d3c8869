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
  it("is multi-stage, every base image pinned to a version tag", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      const image = stage.split(/\s+/)[1]!.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? "");
      expect(image, stage).toMatch(/^[\w./-]+:\d+(\.\d+)+[\w.-]*$/);
    }
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
