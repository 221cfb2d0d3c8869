export { tinyTrainedModel } from "./tiny-trained-model.js";
