// What k6 needs of the scripts, checked without running them (k6-run.e2e.test.ts runs them): they type-check
// against @types/k6, every file they load is k6's own module or a relative file (k6 resolves no npm packages),
// and every method they call is declared in the proto file they load.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { SERVICE_NAMES, serviceMix } from "./request-mixes.js";

const loadtestRoot = fileURLToPath(new URL("..", import.meta.url));
const k6Dir = path.join(loadtestRoot, "k6");
const protoRoot = path.join(loadtestRoot, "..", "proto");
const scripts = readdirSync(k6Dir).filter((name) => name.endsWith(".ts"));

/** Every file a script loads, following relative imports, with the specifiers each one uses. */
function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const visit = (file: string) => {
    if (graph.has(file)) return;
    const specifiers = ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles.map((f) => f.fileName);
    graph.set(file, specifiers);
    for (const specifier of specifiers) {
      if (specifier.startsWith(".")) visit(path.resolve(path.dirname(file), specifier.replace(/\.js$/, ".ts")));
    }
  };
  visit(entry);
  return graph;
}

describe("k6 scripts", () => {
  it("there is one per service", () => {
    expect(scripts.sort()).toEqual(SERVICE_NAMES.map((s) => `${s}.ts`).sort());
  });

  it("type-check against @types/k6 (k6/tsconfig.json)", () => {
    const configPath = path.join(k6Dir, "tsconfig.json");
    const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
    const program = ts.createProgram(config.fileNames, config.options);
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(diagnostics).toEqual([]);
    expect(config.fileNames.length).toBeGreaterThanOrEqual(scripts.length);
  }, 60_000);

  for (const script of scripts) {
    it(`${script} loads only k6 modules and relative files that exist`, () => {
      const graph = importGraph(path.join(k6Dir, script));
      for (const [file, specifiers] of graph) {
        expect(existsSync(file), file).toBe(true);
        for (const specifier of specifiers) {
          // Type-only imports vanish when k6 strips types; all others must be resolvable by k6 itself.
          expect(specifier === "k6" || specifier.startsWith("k6/") || specifier.startsWith("."), `${path.relative(loadtestRoot, file)} imports ${specifier}`).toBe(true);
        }
      }
      expect([...graph.keys()].some((file) => file.endsWith(path.join("src", "request-mixes.ts")))).toBe(true);
    });
  }

  for (const service of SERVICE_NAMES) {
    it(`${service}: the proto file it loads declares every method of its mix`, () => {
      const mix = serviceMix(service);
      const proto = readFileSync(path.join(protoRoot, mix.protoFile), "utf8");
      for (const entry of mix.entries) {
        const [serviceName, method] = entry.method.split("/");
        expect(proto, entry.method).toMatch(new RegExp(`service ${serviceName} \\{[^}]*rpc ${method}\\(`, "s"));
      }
    });
  }
});
