// Runs the Embedding service alone (one Deployment in Kubernetes). `--help` lists every setting.
import { main } from "@funnel/runtime";
import { embeddingModule } from "./embedding-module.js";

main([embeddingModule]);
