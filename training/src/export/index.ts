export { writeModelDirectory } from "./write-model-directory.js";
export type { ModelDirectoryContents } from "./write-model-directory.js";
export { buildOnnxTowers } from "./build-onnx-towers.js";
export { OnnxGraphBuilder, ONNX_OPSET } from "./onnx-graph-builder.js";
