export { trainTinyModelDirectory, tinyModelDataset } from "./tiny-model-directory.js";
export type { TinyModelOptions } from "./tiny-model-directory.js";
