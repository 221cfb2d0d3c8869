import { type HybridPolicy, readHybridPolicy } from "./hybrid-policy.js";
import { TransformerClassifier, type TransformerClassifierOptions } from "./transformer-classifier.js";

/**
 * What the transformer model slot holds: the classifier and the hybrid policy stored with the same model
 * version (`hybrid-policy.json`), so a hot swap changes both together.
 */
export class SentimentTransformer {
  private constructor(
    readonly classifier: TransformerClassifier,
    /** Fitted for this version; absent for a version registered without one (then the default applies). */
    readonly fittedPolicy: HybridPolicy | undefined,
  ) {}

  static async load(dir: string, options: TransformerClassifierOptions = {}): Promise<SentimentTransformer> {
    // Read the policy first: a malformed file fails the load before an ONNX session exists.
    const policy = await readHybridPolicy(dir);
    return new SentimentTransformer(await TransformerClassifier.load(dir, options), policy);
  }

  close(): Promise<void> {
    return this.classifier.close();
  }
}
