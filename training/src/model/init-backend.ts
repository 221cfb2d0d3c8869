import { createRequire } from "node:module";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";

export interface BackendInfo {
  /** tfjs backend name actually in use: "tensorflow" (tfjs-node / -gpu) or "wasm". */
  name: string;
  /** Which package provided it. */
  provider: string;
  wasmThreads: boolean;
  wasmSimd: boolean;
}

let initialised: Promise<BackendInfo> | undefined;

/**
 * Picks the fastest backend available here once per process: the native bindings when one of them is
 * installed (optional dependencies, so imported dynamically), otherwise WASM. The pure-JS "cpu" backend is
 * never used on purpose: its gather gradient took 25 s for a 10,000-row table.
 */
export function initBackend(options: { prefer?: "native" | "wasm" } = {}): Promise<BackendInfo> {
  initialised ??= chooseBackend(options.prefer ?? "native");
  return initialised;
}

async function chooseBackend(prefer: "native" | "wasm"): Promise<BackendInfo> {
  if (prefer === "native") {
    for (const provider of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
      try {
        await import(provider);
        if (await tf.setBackend("tensorflow")) {
          await tf.ready();
          return { name: "tensorflow", provider, wasmThreads: false, wasmSimd: false };
        }
      } catch {
        // Not installed (or its native binary does not load here): try the next one.
      }
    }
  }
  const require = createRequire(import.meta.url);
  // In Node the .wasm files must be found on disk; the package's dist folder holds all three variants.
  const dist = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js"));
  setWasmPaths(`${dist}${path.sep}`);
  if (!(await tf.setBackend("wasm"))) throw new Error(`could not initialise the tfjs WASM backend from ${dist}`);
  await tf.ready();
  const wasmThreads = Boolean(await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"));
  const wasmSimd = Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
  return { name: "wasm", provider: "@tensorflow/tfjs-backend-wasm", wasmThreads, wasmSimd };
}
