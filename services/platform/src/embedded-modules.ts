import { embeddingModule } from "@funnel/embedding";
import type { ServiceModule } from "@funnel/runtime";
import { sentimentModule } from "@funnel/sentiment";

/** The services `npm start` runs together. Similarity and Recommendation join as they land. */
export const embeddedModules: ServiceModule<any>[] = [sentimentModule, embeddingModule];
