import { describe, expect, it } from "vitest";
import { sampleEvents } from "../testing/sample-events.js";
import { aggregateItemFeatures } from "./aggregate-item-features.js";
import { aggregateUserFeatures } from "./aggregate-user-features.js";
import { encodeItems, encodeUsers } from "./encode-features.js";
import { FeatureSpecError } from "./errors.js";
import { buildFeatureSpec, parseFeatureSpec } from "./feature-spec.js";

const data = sampleEvents({ users: 300, seed: 21, items: 120 });
const users = aggregateUserFeatures(data.events, { sequenceLength: 8 });
const items = aggregateItemFeatures(data.events, data.items);
const spec = buildFeatureSpec({ users: [...users.values()], items: [...items.values()] }, { sequenceLength: 8 });

describe("feature spec", () => {
  it("declares the tensor inputs the ONNX towers use, with consistent sizes", () => {
    expect(spec.inputs.user.map((i) => i.name)).toEqual(["numeric", "device", "recentItems", "recentPages", "attributes"]);
    expect(spec.inputs.item.map((i) => i.name)).toEqual(["numeric", "itemIndex", "page", "interaction", "category"]);
    expect(spec.inputs.user[0]!.shape).toEqual([-1, spec.user.numericSize]);
    expect(spec.inputs.user[2]!.shape).toEqual([-1, 8]);
    expect(spec.vocab.device.size).toBe(5);
    expect(spec.vocab.page.size).toBe(7);
    expect(spec.vocab.item.size).toBe(120 + 2);
    expect(spec.vocab.category.size).toBe(12 + 2);
  });

  it("round-trips through JSON and encodes identically afterwards (training == serving)", () => {
    const reloaded = parseFeatureSpec(JSON.parse(JSON.stringify(spec)));
    expect(reloaded).toEqual(spec);
    const rawUsers = [...users.values()];
    const rawItems = [...items.values()];
    expect(encodeUsers(reloaded, rawUsers)).toEqual(encodeUsers(spec, rawUsers));
    expect(encodeItems(reloaded, rawItems)).toEqual(encodeItems(spec, rawItems));
  });

  it("rejects a damaged spec with an error naming the field", () => {
    const broken = JSON.parse(JSON.stringify(spec));
    delete broken.vocab.item.size;
    expect(() => parseFeatureSpec(broken)).toThrow(FeatureSpecError);
    expect(() => parseFeatureSpec(broken)).toThrow(/featureSpec\.vocab\.item\.size/);

    const wrongSize = JSON.parse(JSON.stringify(spec));
    wrongSize.vocab.category.size = 3;
    expect(() => parseFeatureSpec(wrongSize)).toThrow("featureSpec.vocab.category: size must equal tokens.length + 2");

    // A model trained before the category bag (v1) is refused with what to do about it.
    expect(() => parseFeatureSpec({ ...spec, version: "funnel-features/v1" })).toThrow(
      /feature spec funnel-features\/v1 is not supported: this build encodes funnel-features\/v2 .*retrain/,
    );
    expect(() => parseFeatureSpec({ ...spec, version: "something/v9" })).toThrow(/featureSpec\.version/);

    const wrongInputs = JSON.parse(JSON.stringify(spec));
    wrongInputs.inputs.user[2].shape = [-1, 9];
    expect(() => parseFeatureSpec(wrongInputs)).toThrow(/featureSpec\.inputs\.user must be/);
    expect(() => parseFeatureSpec("{}")).toThrow(FeatureSpecError);
  });
});
