export { embeddedModules } from "./embedded-modules.js";
