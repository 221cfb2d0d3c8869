import type { TestProject } from "vitest/node";
import { findMilvusLite, startMilvusLite } from "./start-milvus-lite.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** host:port of the real Milvus (milvus-lite) gRPC server for this run, or null when it is not installed. */
    milvusAddress: string | null;
  }
}

/**
 * Starts one real Milvus gRPC server (`milvus-lite server`, from `pip install milvus-lite`) for the whole run.
 * This file is a test entry point, so it reads PATH and CI directly: on CI a missing milvus-lite fails the
 * build rather than quietly skipping the Milvus backend's tests.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const ci = process.env.CI === "true";
  const milvusLite = await findMilvusLite(process.env.PATH ?? "");
  if (!milvusLite) {
    if (ci) throw new Error("CI=true but `milvus-lite` is not on PATH: run `pip install -r .ci/requirements-test.txt` before the vector-index tests");
    const bar = "!".repeat(78);
    console.warn(`\n${bar}\n!!! milvus-lite is NOT installed: SKIPPING every Milvus-backend vector-index test.\n!!! Install it with \`pip install milvus-lite pymilvus\` to run them (CI=true makes this a failure).\n${bar}\n`);
    project.provide("milvusAddress", null);
    return async () => undefined;
  }
  const started = Date.now();
  const server = await startMilvusLite(milvusLite);
  console.info(`milvus-lite server ready at ${server.address} after ${Date.now() - started} ms`);
  project.provide("milvusAddress", server.address);
  return server.stop;
}
