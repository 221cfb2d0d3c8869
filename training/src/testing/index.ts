export { trainTinyModelDirectory, tinyModelDataset } from "./tiny-model-directory.js";
export type { TinyModelOptions } from "./tiny-model-directory.js";
export { shiftedUser } from "./shifted-user.js";
