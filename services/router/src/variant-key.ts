import { createContextKey } from "@funnel/runtime";

/** The variant that answered the call: a metrics label (`variant`) beside the model version. */
export const variantKey = createContextKey<string>("none", { description: "router variant" });
