// Runs the Similarity service alone (one Deployment in Kubernetes). `--help` lists every setting.
import { main } from "@funnel/runtime";
import { similarityModule } from "./similarity-module.js";

main([similarityModule]);
