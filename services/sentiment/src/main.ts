// Runs the Sentiment service alone (one Deployment in Kubernetes). `--help` lists every setting.
import { main } from "@funnel/runtime";
import { sentimentModule } from "./sentiment-module.js";

main([sentimentModule]);
