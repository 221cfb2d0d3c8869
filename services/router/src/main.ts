// Runs the A/B router (one Deployment in Kubernetes, in front of the model services). `--help` lists every setting.
import { main } from "@funnel/runtime";
import { routerModule } from "./router-module.js";

main([routerModule]);
