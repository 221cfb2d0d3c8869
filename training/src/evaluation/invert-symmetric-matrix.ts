import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-node";

const { onnx } = onnxProto;

let session: Promise<ort.InferenceSession> | undefined;

/**
 * Inverse of a symmetric positive-definite n × n float64 matrix (row-major). The work is O(n³): for EASE's Gram
 * matrix of ~3,000 items a plain JS loop took ~280 s and ml-matrix's Cholesky ~50 s at n = 800, so it runs as
 * onnxruntime's (Eigen) `com.microsoft.Inverse` kernel instead, ~10–15 s at n = 2,900 on a shared core;
 * onnxruntime-node is already what the model export is tested with.
 */
export async function invertSymmetricMatrix(values: Float64Array, n: number): Promise<Float64Array> {
  if (!Number.isInteger(n) || n < 1 || values.length !== n * n) {
    throw new RangeError(`invertSymmetricMatrix: expected ${n} × ${n} = ${n * n} values, got ${values.length}`);
  }
  session ??= ort.InferenceSession.create(inverseModel());
  const result = await (await session).run({ x: new ort.Tensor("float64", values, [n, n]) });
  const inverse = result.y!.data as Float64Array;
  if (!inverse.every(Number.isFinite)) throw new RangeError("invertSymmetricMatrix: the matrix is singular (non-finite inverse)");
  return inverse;
}

function inverseModel(): Uint8Array {
  const square = (name: string) =>
    onnx.ValueInfoProto.create({
      name,
      type: onnx.TypeProto.create({
        tensorType: onnx.TypeProto.Tensor.create({
          elemType: onnx.TensorProto.DataType.DOUBLE,
          shape: onnx.TensorShapeProto.create({ dim: [0, 1].map(() => onnx.TensorShapeProto.Dimension.create({ dimParam: "n" })) }),
        }),
      }),
    });
  const graph = onnx.GraphProto.create({
    name: "inverse",
    node: [onnx.NodeProto.create({ opType: "Inverse", domain: "com.microsoft", input: ["x"], output: ["y"], name: "inverse" })],
    input: [square("x")],
    output: [square("y")],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [
      onnx.OperatorSetIdProto.create({ domain: "", version: 17 }),
      onnx.OperatorSetIdProto.create({ domain: "com.microsoft", version: 1 }),
    ],
    producerName: "@funnel/training",
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
