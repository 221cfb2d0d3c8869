export { writeModelDirectory, MODEL_FILES, MODEL_KIND, float32LittleEndian, readFloat32LittleEndian } from "./write-model-directory.js";
export type { ModelDirectoryContents } from "./write-model-directory.js";
export { OnnxTowers } from "./onnx-towers.js";
export { buildOnnxTowers, ONNX_OUTPUT_NAME } from "./build-onnx-towers.js";
export { OnnxGraphBuilder, ONNX_OPSET } from "./onnx-graph-builder.js";
