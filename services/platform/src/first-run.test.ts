// The load scripts' default id space must be the one `npm start` serves on its first run: with 10,000 users
// against a 5,000-user model, half the embedding calls came back NOT_FOUND (29 % errors under k6).
import { DEFAULT_MIX_OPTIONS } from "@funnel/loadtest";
import { describe, expect, it } from "vitest";
import { firstRunSettings } from "./first-run.js";

describe("first-run model and the load scripts' defaults", () => {
  it("ask for the users the first-run model was trained on", () => {
    expect(DEFAULT_MIX_OPTIONS.users).toBe(firstRunSettings.firstRunUsers.default);
  });
});
