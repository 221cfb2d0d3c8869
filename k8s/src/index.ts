export { renderOverlay, findKubectl } from "./render-overlay.js";
export type { Resource } from "./render-overlay.js";
export { validateResource } from "./validate-resource.js";
export { manifestViolations } from "./manifest-violations.js";
