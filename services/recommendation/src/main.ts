// Runs the Recommendation service alone (one Deployment in Kubernetes). `--help` lists every setting.
import { main } from "@funnel/runtime";
import { recommendationModule } from "./recommendation-module.js";

main([recommendationModule]);
