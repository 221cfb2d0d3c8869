// Test support other packages' tests use: a real Milvus (milvus-lite) for the whole vitest run.
export { default as milvusGlobalSetup } from "./milvus-global-setup.js";
export { findMilvusLite, startMilvusLite } from "./start-milvus-lite.js";
export type { MilvusLiteServer, MilvusLiteOptions } from "./start-milvus-lite.js";
