import * as tf from "@tensorflow/tfjs";

/**
 * Cross-entropy of a softmax over every item, one term per target: −Σ_bj T[b,j]·log softmax(logits[b])_j / Σ T,
 * where T[b,j] counts how often item j is a target of row b. Exact, no sampling: with a catalogue of a few
 * thousand items scoring all of them is one [batch, items] matMul, cheaper than the bookkeeping sampling needs,
 * and it has no sampling bias to correct (the PyTorch reference scored the same with in-batch negatives + logQ).
 * The gradient with respect to the logits is (softmax·rowsum(T) − T) / Σ T (checked in the test).
 */
export function fullSoftmaxLoss(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  if (logits.shape.join("x") !== targets.shape.join("x")) {
    throw new RangeError(`fullSoftmaxLoss: logits [${logits.shape}] and targets [${targets.shape}] differ in shape`);
  }
  return tf.tidy(() => tf.div(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)))), tf.maximum(tf.sum(targets), 1)) as tf.Scalar);
}
