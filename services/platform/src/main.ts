// Embedded mode: every implemented service in one process on one port (npm start). Each service also has
// its own entry point for Kubernetes; this one only composes them.
import { main } from "@funnel/runtime";
import { embeddedModules } from "./embedded-modules.js";

main(embeddedModules);
