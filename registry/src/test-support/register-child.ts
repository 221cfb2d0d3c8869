/**
 * Child process for the crash and concurrency tests: registers one model directory into a file registry.
 * With `--pause-mid-copy` it reports "copying" once it is part way through the largest file and then blocks,
 * standing in for a slow disk so the parent can SIGKILL it at a known point of the write.
 */
import { FileRegistry } from "../file-registry.js";

const [dataDir, modelDir, mode] = process.argv.slice(2);
if (!dataDir || !modelDir) {
  process.stderr.write("usage: register-child.ts <dataDir> <modelDir> [--pause-mid-copy]\n");
  process.exit(2);
}
const registry = new FileRegistry({ dataDir, actor: `child-${process.pid}`, lockStaleMs: 2000 });
let paused = false;
const version = await registry.register(modelDir, {
  onProgress: (p) => {
    if (mode === "--pause-mid-copy" && !paused && p.file === "user_tower.onnx" && p.doneBytes > p.totalBytes / 4) {
      paused = true;
      process.stdout.write("copying\n");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
    }
  },
});
process.stdout.write(`${JSON.stringify({ version: version.version })}\n`);
