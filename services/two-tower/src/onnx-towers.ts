import { readFile } from "node:fs/promises";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { type FeatureSpec, type ItemTensors, parseFeatureSpec, type UserTensors } from "./features/index.js";
import { MODEL_FILES, ONNX_OUTPUT_NAME } from "./model-directory.js";

/** The exported towers of a model directory run with onnxruntime: evaluation sees exactly what serving sees. */
export class OnnxTowers {
  private constructor(
    readonly spec: FeatureSpec,
    readonly dim: number,
    private readonly user: ort.InferenceSession,
    private readonly item: ort.InferenceSession,
  ) {}

  /**
   * `intraOpThreads` caps onnxruntime's threads per run (default: one per core, right for bulk work such as
   * evaluation). Serving passes 1: its runs are small micro-batches, and extra pool threads mostly spin and
   * take the core the event loop needs.
   */
  static async load(dir: string, options: { intraOpThreads?: number } = {}): Promise<OnnxTowers> {
    const specPath = path.join(dir, MODEL_FILES.featureSpec);
    let specJson: unknown;
    try {
      specJson = JSON.parse(await readFile(specPath, "utf8"));
    } catch (error) {
      throw new Error(`cannot read the feature spec ${specPath}: ${(error as Error).message}`);
    }
    const spec = parseFeatureSpec(specJson);
    const sessionOptions: ort.InferenceSession.SessionOptions =
      options.intraOpThreads === undefined ? {} : { intraOpNumThreads: options.intraOpThreads, interOpNumThreads: 1 };
    const user = await ort.InferenceSession.create(path.join(dir, MODEL_FILES.userTower), sessionOptions);
    const item = await ort.InferenceSession.create(path.join(dir, MODEL_FILES.itemTower), sessionOptions);
    // The output width is not stored separately: one empty batch through the user tower reveals it.
    const probe = await user.run(userFeeds(spec, { count: 0, numeric: new Float32Array(0), device: new Int32Array(0), recentItems: new Int32Array(0), recentPages: new Int32Array(0), attributes: new Int32Array(0), userId: new Int32Array(0) }));
    const dims = probe[ONNX_OUTPUT_NAME]!.dims;
    return new OnnxTowers(spec, Number(dims[1]), user, item);
  }

  async embedUsers(users: UserTensors, chunk = 4096): Promise<Float32Array> {
    const out = new Float32Array(users.count * this.dim);
    const L = this.spec.sequenceLength;
    const w = this.spec.user.numericSize;
    for (let start = 0; start < users.count; start += chunk) {
      const end = Math.min(users.count, start + chunk);
      const part: UserTensors = {
        count: end - start,
        numeric: users.numeric.subarray(start * w, end * w),
        device: users.device.subarray(start, end),
        recentItems: users.recentItems.subarray(start * L, end * L),
        recentPages: users.recentPages.subarray(start * L, end * L),
        attributes: users.attributes.subarray(start * this.spec.user.attributeSlots, end * this.spec.user.attributeSlots),
        userId: users.userId.subarray(start, end),
      };
      const result = await this.user.run(userFeeds(this.spec, part));
      out.set(result[ONNX_OUTPUT_NAME]!.data as Float32Array, start * this.dim);
    }
    return out;
  }

  async embedItems(items: ItemTensors, chunk = 4096): Promise<Float32Array> {
    const out = new Float32Array(items.count * this.dim);
    const w = this.spec.item.numericSize;
    const categorySlots = this.spec.item.categorySlots;
    for (let start = 0; start < items.count; start += chunk) {
      const end = Math.min(items.count, start + chunk);
      const n = end - start;
      const result = await this.item.run({
        numeric: new ort.Tensor("float32", items.numeric.subarray(start * w, end * w), [n, w]),
        itemIndex: new ort.Tensor("int32", items.itemIndex.subarray(start, end), [n, 1]),
        page: new ort.Tensor("int32", items.page.subarray(start, end), [n, 1]),
        interaction: new ort.Tensor("int32", items.interaction.subarray(start, end), [n, 1]),
        category: new ort.Tensor("int32", items.category.subarray(start * categorySlots, end * categorySlots), [n, categorySlots]),
      });
      out.set(result[ONNX_OUTPUT_NAME]!.data as Float32Array, start * this.dim);
    }
    return out;
  }

  async release(): Promise<void> {
    await Promise.all([this.user.release(), this.item.release()]);
  }
}

function userFeeds(spec: FeatureSpec, u: UserTensors): Record<string, ort.Tensor> {
  const L = spec.sequenceLength;
  const feeds: Record<string, ort.Tensor> = {
    numeric: new ort.Tensor("float32", u.numeric, [u.count, spec.user.numericSize]),
    device: new ort.Tensor("int32", u.device, [u.count, 1]),
    recentItems: new ort.Tensor("int32", u.recentItems, [u.count, L]),
    recentPages: new ort.Tensor("int32", u.recentPages, [u.count, L]),
    attributes: new ort.Tensor("int32", u.attributes, [u.count, spec.user.attributeSlots]),
  };
  // A tower exported without id buckets has no such input, and onnxruntime refuses unknown feeds.
  if (spec.user.idBuckets > 0) feeds.userId = new ort.Tensor("int32", u.userId, [u.count, 1]);
  return feeds;
}
