// `prepare` of @funnel/proto: generate the TypeScript of the .proto files when the workspace is installed, so every
// documented command (train, evaluate, registry, npm test, ...) works right after `npm ci` on a fresh clone. The
// generated code is not in git (it is a turbo task's output); before this hook, anything importing @funnel/proto
// failed with ERR_MODULE_NOT_FOUND .../proto/src/gen/funnel/v1/common.js until `npm run generate` had run.
// A production install (npm ci --omit=dev, the Docker images) has no buf or ts-proto: there the image copies the
// code generated in its own build stage, so this says so and leaves it.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const proto = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => path.join(proto, "..", "node_modules", ".bin", name);
const missing = ["buf", "protoc-gen-ts_proto"].filter((name) => !existsSync(bin(name)));
if (missing.length > 0) {
  process.stderr.write(`@funnel/proto: not generating code on install (${missing.join(", ")} not installed: a production install); run npm run generate after a full npm ci\n`);
  process.exit(0);
}
const result = spawnSync("npm", ["run", "generate", "--silent"], { cwd: proto, stdio: "inherit" });
process.exit(result.status ?? 1);
