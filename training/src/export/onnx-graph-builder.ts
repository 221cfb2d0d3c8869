import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** ONNX opset the towers are written for (ReduceSum and Unsqueeze take their axes as inputs since 13). */
export const ONNX_OPSET = 17;
/** IR version 8 is what opset 17 models are written with. */
const IR_VERSION = 8;

type Elem = "float32" | "int32" | "int64";
const DATA_TYPE: Record<Elem, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
};

/**
 * Minimal builder for an ONNX graph: inputs, initializers, nodes, outputs, then serialise. Node output names are
 * generated, so callers only wire values together.
 */
export class OnnxGraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly constants = new Map<string, string>();
  private counter = 0;

  constructor(private readonly name: string) {}

  /**
   * A graph input; negative dimensions are dynamic, named by `dynamicNames` in order (default "batch"), e.g.
   * ["batch", "sequence"] for [-1, -1] token ids.
   */
  input(name: string, elem: Elem, shape: number[], dynamicNames: string[] = []): string {
    this.inputs.push(valueInfo(name, elem, shape, dynamicNames));
    return name;
  }

  /** A weight; values are stored little-endian in raw_data as ONNX requires. */
  initializer(name: string, values: Float32Array | Int32Array | BigInt64Array, shape: number[]): string {
    const elem: Elem = values instanceof Float32Array ? "float32" : values instanceof Int32Array ? "int32" : "int64";
    const raw = new Uint8Array(values.length * (elem === "int64" ? 8 : 4));
    const view = new DataView(raw.buffer);
    for (let i = 0; i < values.length; i++) {
      if (values instanceof Float32Array) view.setFloat32(i * 4, values[i]!, true);
      else if (values instanceof Int32Array) view.setInt32(i * 4, values[i]!, true);
      else view.setBigInt64(i * 8, values[i]!, true);
    }
    this.initializers.push(onnx.TensorProto.create({ name, dims: shape, dataType: DATA_TYPE[elem], rawData: raw }));
    return name;
  }

  /** A small constant, deduplicated by value. */
  constant(values: number[], elem: Elem, shape: number[] = [values.length]): string {
    const key = `${elem}:${shape.join("x")}:${values.join(",")}`;
    const existing = this.constants.get(key);
    if (existing) return existing;
    const name = `const_${this.constants.size}`;
    const typed =
      elem === "float32" ? Float32Array.from(values) : elem === "int32" ? Int32Array.from(values) : BigInt64Array.from(values.map(BigInt));
    this.initializer(name, typed, shape);
    this.constants.set(key, name);
    return name;
  }

  node(opType: string, inputs: string[], attributes: Record<string, number | number[]> = {}, outputName?: string): string {
    const output = outputName ?? `${opType.toLowerCase()}_${this.counter++}`;
    const attribute = Object.entries(attributes).map(([name, value]) =>
      Array.isArray(value)
        ? onnx.AttributeProto.create({ name, ints: value, type: onnx.AttributeProto.AttributeType.INTS })
        : onnx.AttributeProto.create({ name, i: value, type: onnx.AttributeProto.AttributeType.INT }),
    );
    this.nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: [output], name: output, attribute }));
    return output;
  }

  output(value: string, name: string, elem: "float32", shape: number[], dynamicNames: string[] = []): void {
    const out = this.node("Identity", [value], {}, name);
    this.outputs.push(valueInfo(out, elem, shape, dynamicNames));
  }

  /** Serialises the model; `metadata` lands in metadata_props (readable by onnxruntime's session metadata). */
  toBytes(metadata: Record<string, string> = {}): Uint8Array {
    const graph = onnx.GraphProto.create({
      name: this.name,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
    });
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [onnx.OperatorSetIdProto.create({ domain: "", version: ONNX_OPSET })],
      producerName: "@funnel/training",
      producerVersion: "1",
      graph,
      metadataProps: Object.entries(metadata).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, elem: Elem, shape: number[], dynamicNames: string[]): InstanceType<typeof onnx.ValueInfoProto> {
  let dynamic = 0;
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: DATA_TYPE[elem],
        shape: onnx.TensorShapeProto.create({
          dim: shape.map((d) =>
            d < 0
              ? onnx.TensorShapeProto.Dimension.create({ dimParam: dynamicNames[dynamic++] ?? "batch" })
              : onnx.TensorShapeProto.Dimension.create({ dimValue: d }),
          ),
        }),
      }),
    }),
  });
}
