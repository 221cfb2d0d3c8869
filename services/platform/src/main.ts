// Embedded mode: every implemented service in one process on one port (npm start). Each service also has
// its own entry point for Kubernetes; this one only composes them, after the first-run model if needed.
import { main } from "@funnel/runtime";
import { embeddedModules } from "./embedded-modules.js";
import { firstRunSettings, trainFirstModelIfMissing } from "./first-run.js";

main(embeddedModules, { settings: firstRunSettings, prepare: trainFirstModelIfMissing });
