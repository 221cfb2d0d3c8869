// The vector-index package's real Milvus (milvus-lite) for this package's Milvus-backend tests.
export { milvusGlobalSetup as default } from "@funnel/vector-index/testing";
