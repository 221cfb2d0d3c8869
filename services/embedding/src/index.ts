export { embeddingModule, TWO_TOWER_SLOT_KIND } from "./embedding-module.js";
export { embeddingSettings } from "./config.js";
export type { EmbeddingConfig } from "./config.js";
export { Embedder } from "./embedder.js";
export type { Embedded, EmbedderOptions, UserInput, ItemInput } from "./embedder.js";
