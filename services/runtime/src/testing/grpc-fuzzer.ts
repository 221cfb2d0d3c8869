// A protocol fuzzer for any gRPC server with reflection: it asks the server which services and methods it has
// (so a method added later is fuzzed without touching a test), builds request bytes from each method's input
// descriptor, and sends them raw (identity serializers): random bytes, truncated and oversized messages, every
// field at its extremes (number limits, NaN/±Inf, huge strings, invalid UTF-8, wrong wire types), long
// repeated fields, deep nesting, and mutations of valid messages. Deterministic for a seed, so a failure
// reproduces. It reports what came back; the caller decides which statuses are acceptable.
import { fromBinary, createFileRegistry, ScalarType, type DescField, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import seedrandom from "seedrandom";
import { fileContainingSymbolByReflection, listServicesByReflection } from "./grpc-probes.js";

/** One method of the server, as reflection describes it. */
export interface FuzzTarget {
  /** "/package.Service/Method" */
  path: string;
  kind: DescMethod["methodKind"];
  input: DescMessage;
}

export const FUZZ_CASE_KINDS = ["random-bytes", "valid", "extremes", "truncated", "mutated", "wrong-wire-types", "long-repeated", "deep-nesting", "oversized"] as const;
export type FuzzCaseKind = (typeof FUZZ_CASE_KINDS)[number];

export interface FuzzOptions {
  seed: number;
  /** Calls per method (a stream call carries several messages). */
  callsPerMethod: number;
  /** The server's --max-message-bytes; oversized cases go just past it. */
  maxMessageBytes: number;
  /** Calls in flight at once. */
  concurrency?: number;
  deadlineMs?: number;
  /** Paths to leave out (e.g. a method that blocks by design). */
  skip?: readonly string[];
}

export interface FuzzCall {
  path: string;
  kind: FuzzCaseKind;
  /** Index of the call within its method, to reproduce it with the same seed. */
  index: number;
  messages: number;
  bytes: number;
  code: string;
  details: string;
}

export interface FuzzReport {
  seed: number;
  methods: string[];
  calls: number;
  messagesSent: number;
  bytesSent: number;
  byCode: Record<string, number>;
  byKind: Record<FuzzCaseKind, number>;
  byMethod: Record<string, Record<string, number>>;
  /** Every call whose outcome `accept` refused. */
  rejected: FuzzCall[];
}

/** Statuses that tell a client what to do; anything else (UNKNOWN, INTERNAL, DATA_LOSS, ...) is a bug. */
export const PROPER_FUZZ_STATUSES: ReadonlySet<string> = new Set([
  "OK",
  "INVALID_ARGUMENT",
  "NOT_FOUND",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "OUT_OF_RANGE",
  "DEADLINE_EXCEEDED",
  "UNAVAILABLE",
  "CANCELLED",
]);

const STACK_TRACE = /\n\s+at |\.[cm]?[jt]s:\d+:\d+/;

/** A proper answer: one of PROPER_FUZZ_STATUSES, with a message when it is an error, and no stack trace in it. */
export function isProperAnswer(call: FuzzCall): boolean {
  return PROPER_FUZZ_STATUSES.has(call.code) && !STACK_TRACE.test(call.details) && (call.code === "OK" || call.code === "CANCELLED" || call.details.length > 0);
}

/** The server's services and methods, with their input descriptors, from grpc.reflection. */
export async function discoverFuzzTargets(address: string): Promise<FuzzTarget[]> {
  const services = await listServicesByReflection(address);
  const files = new Map<string, FileDescriptorProto>();
  for (const service of services) {
    for (const bytes of await fileContainingSymbolByReflection(address, service)) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      files.set(file.name, file);
    }
  }
  // A FileDescriptorSet must list each file after its imports.
  const ordered: FileDescriptorProto[] = [];
  const visit = (name: string) => {
    const file = files.get(name);
    if (!file || ordered.includes(file)) return;
    for (const dependency of file.dependency) visit(dependency);
    ordered.push(file);
  };
  for (const name of files.keys()) visit(name);
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
  return services.flatMap((name) => {
    const service = registry.getService(name);
    if (!service) throw new Error(`reflection lists ${name} but describes no such service`);
    return service.methods.map((method) => ({ path: `/${service.typeName}/${method.name}`, kind: method.methodKind, input: method.input }));
  });
}

class Gen {
  constructor(readonly random: () => number) {}
  int(max: number): number {
    return Math.floor(this.random() * max);
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  pick<T>(values: readonly T[]): T {
    return values[this.int(values.length)]!;
  }
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }
  /** Mostly short, sometimes long: lengths spread over orders of magnitude. */
  length(max: number): number {
    return Math.min(max, Math.floor(2 ** (this.random() * Math.log2(max + 1))));
  }
}

type Mode = "valid" | "extremes" | "long-repeated" | "deep-nesting" | "wrong-wire-types";

const INVALID_UTF8 = [
  [0xff, 0xfe, 0xfd],
  [0xc3, 0x28],
  [0xed, 0xa0, 0x80], // a lone UTF-16 surrogate in UTF-8
  [0xf0, 0x28, 0x8c, 0xbc],
  [0x61, 0x80, 0x62],
  [0xe2, 0x82],
].map((b) => Uint8Array.from(b));
const STRANGE_STRINGS = ["", " ", "\u0000", "\u0000\u0001\u001f", "😍".repeat(40), "\u202eevil", "Ω≈ç√∫˜µ≤≥÷", "user-000001", "item-00001", "a".repeat(300), "%s%n%x", "'; DROP TABLE users;--", "../../etc/passwd", "\ud800"];

const INT32 = [0, 1, -1, 2147483647, -2147483648, 42];
const UINT32 = [0, 1, 4294967295, 2147483648];
const INT64 = ["0", "-1", "9223372036854775807", "-9223372036854775808", "4294967296"];
const UINT64 = ["0", "18446744073709551615", "9223372036854775808"];
const FLOATS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1e308, -1e308, Number.MIN_VALUE, 3.4e38, -3.4e38, 1e-45, 0.5, -1];

function float32Bits(value: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value, true);
  return view.getUint32(0, true);
}

function wireTypeOf(scalar: ScalarType): WireType {
  switch (scalar) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    default:
      return WireType.Varint;
  }
}

/** Builds request bytes from a message descriptor, field by field, with full control of what goes on the wire. */
class MessageEncoder {
  constructor(
    private readonly gen: Gen,
    private readonly mode: Mode,
    /** Upper bound for one string or bytes value, to keep a message under the server limit unless asked. */
    private readonly maxValueBytes: number,
  ) {}

  encode(message: DescMessage, depth = 0): Uint8Array {
    const w = new BinaryWriter();
    const nestLimit = this.mode === "deep-nesting" ? 60 : 4;
    for (const field of message.fields) {
      if (!this.gen.chance(this.mode === "valid" ? 0.7 : 0.85)) continue;
      if (field.fieldKind === "message" && depth >= nestLimit) continue;
      this.writeField(w, field, depth);
    }
    // Unknown fields: a server must skip them.
    if (this.gen.chance(0.1)) w.tag(1000 + this.gen.int(1000), WireType.Varint).uint32(this.gen.int(1_000_000));
    return w.finish();
  }

  private repeatCount(): number {
    if (this.mode === "long-repeated") return this.gen.pick([0, 1, 2_000, 10_000, 50_000]);
    return this.gen.int(4);
  }

  private writeField(w: BinaryWriter, field: DescField, depth: number): void {
    switch (field.fieldKind) {
      case "scalar":
        this.writeScalar(w, field.number, field.scalar);
        return;
      case "enum":
        w.tag(field.number, WireType.Varint).int32(this.enumValue(field.enum.values.map((v) => v.number)));
        return;
      case "message":
        this.writeMessage(w, field.number, field.message, depth);
        return;
      case "list": {
        const count = this.repeatCount();
        if (field.listKind === "message") {
          // Long lists of messages repeat one encoded element: the point is the count, not variety.
          const element = this.mode === "long-repeated" && count > 100 ? new MessageEncoder(this.gen, "valid", this.maxValueBytes).encode(field.message, depth + 1) : undefined;
          for (let i = 0; i < count; i++) {
            if (element) w.tag(field.number, WireType.LengthDelimited).bytes(element);
            else this.writeMessage(w, field.number, field.message, depth);
          }
        } else if (field.listKind === "enum") {
          for (let i = 0; i < count; i++) w.tag(field.number, WireType.Varint).int32(this.enumValue(field.enum.values.map((v) => v.number)));
        } else {
          const longStrings = field.scalar === ScalarType.STRING || field.scalar === ScalarType.BYTES;
          const values = Math.min(count, longStrings && this.mode === "long-repeated" ? 20_000 : count);
          for (let i = 0; i < values; i++) this.writeScalar(w, field.number, field.scalar, this.mode === "long-repeated");
        }
        return;
      }
      case "map": {
        const count = this.repeatCount();
        for (let i = 0; i < count; i++) {
          const entry = new BinaryWriter();
          this.writeScalar(entry, 1, field.mapKey);
          if (field.mapKind === "scalar") this.writeScalar(entry, 2, field.scalar);
          else if (field.mapKind === "enum") entry.tag(2, WireType.Varint).int32(this.enumValue(field.enum.values.map((v) => v.number)));
          else if (depth < 4) entry.tag(2, WireType.LengthDelimited).bytes(this.encode(field.message, depth + 1));
          w.tag(field.number, WireType.LengthDelimited).bytes(entry.finish());
        }
        return;
      }
    }
  }

  private writeMessage(w: BinaryWriter, number: number, message: DescMessage, depth: number): void {
    w.tag(number, WireType.LengthDelimited).bytes(this.encode(message, depth + 1));
  }

  private enumValue(known: number[]): number {
    if (this.mode === "valid" || this.gen.chance(0.5)) return this.gen.pick(known);
    return this.gen.pick([-1, 2147483647, -2147483648, 999, known.length]);
  }

  private writeScalar(w: BinaryWriter, number: number, scalar: ScalarType, short = false): void {
    const g = this.gen;
    const extreme = this.mode !== "valid";
    if (this.mode === "wrong-wire-types" && g.chance(0.5)) {
      // The right field number with another wire type: a decoder must refuse, not misread.
      const wrong = g.pick([WireType.Varint, WireType.Bit64, WireType.LengthDelimited, WireType.Bit32].filter((t) => t !== wireTypeOf(scalar)));
      w.tag(number, wrong);
      if (wrong === WireType.Varint) w.uint64("18446744073709551615");
      else if (wrong === WireType.Bit64) w.double(Number.NaN);
      else if (wrong === WireType.Bit32) w.float(Number.POSITIVE_INFINITY);
      else w.bytes(g.bytes(g.int(64)));
      return;
    }
    w.tag(number, wireTypeOf(scalar));
    switch (scalar) {
      case ScalarType.DOUBLE:
        w.double(extreme ? g.pick(FLOATS) : g.random() * 100);
        return;
      case ScalarType.FLOAT:
        // Raw bits: the writer refuses doubles that do not fit a float32, the wire does not.
        w.fixed32(extreme ? float32Bits(g.pick(FLOATS)) : float32Bits(g.random() * 100));
        return;
      case ScalarType.INT32:
        w.int32(extreme ? g.pick(INT32) : g.int(100));
        return;
      case ScalarType.SINT32:
        w.sint32(extreme ? g.pick(INT32) : g.int(100));
        return;
      case ScalarType.SFIXED32:
        w.sfixed32(extreme ? g.pick(INT32) : g.int(100));
        return;
      case ScalarType.UINT32:
        w.uint32(extreme ? g.pick(UINT32) : g.int(100));
        return;
      case ScalarType.FIXED32:
        w.fixed32(extreme ? g.pick(UINT32) : g.int(100));
        return;
      case ScalarType.INT64:
        w.int64(extreme ? g.pick(INT64) : g.int(100));
        return;
      case ScalarType.SINT64:
        w.sint64(extreme ? g.pick(INT64) : g.int(100));
        return;
      case ScalarType.SFIXED64:
        w.sfixed64(extreme ? g.pick(INT64) : g.int(100));
        return;
      case ScalarType.UINT64:
        w.uint64(extreme ? g.pick(UINT64) : g.int(100));
        return;
      case ScalarType.FIXED64:
        w.fixed64(extreme ? g.pick(UINT64) : g.int(100));
        return;
      case ScalarType.BOOL:
        // A varint bool other than 0/1 is legal on the wire and must read as true.
        if (extreme && g.chance(0.3)) w.uint64("18446744073709551615");
        else w.bool(g.chance(0.5));
        return;
      case ScalarType.STRING:
        if (!extreme || short) w.string(g.chance(0.5) ? g.pick(STRANGE_STRINGS.slice(0, 9)) : `v${g.int(10_000)}`);
        else if (g.chance(0.3)) w.bytes(g.pick(INVALID_UTF8));
        else if (g.chance(0.4)) w.string("x".repeat(g.length(this.maxValueBytes)));
        else w.string(g.pick(STRANGE_STRINGS));
        return;
      case ScalarType.BYTES:
        w.bytes(g.bytes(short || !extreme ? g.int(16) : g.length(this.maxValueBytes)));
        return;
    }
  }
}

function mutate(gen: Gen, input: Uint8Array): Uint8Array {
  let bytes = Array.from(input);
  const edits = 1 + gen.int(8);
  for (let e = 0; e < edits; e++) {
    const at = gen.int(bytes.length + 1);
    switch (gen.int(6)) {
      case 0:
        if (bytes.length > 0) bytes[at % bytes.length]! ^= 1 << gen.int(8);
        break;
      case 1:
        if (bytes.length > 0) bytes[at % bytes.length] = gen.pick([0x00, 0xff, 0x80, 0x7f, 0x0a, 0x12]);
        break;
      case 2:
        bytes.splice(at, 0, ...gen.bytes(1 + gen.int(16)));
        break;
      case 3:
        bytes.splice(at, 1 + gen.int(16));
        break;
      case 4: {
        const chunk = bytes.slice(at, at + 1 + gen.int(64));
        bytes.splice(gen.int(bytes.length + 1), 0, ...chunk);
        break;
      }
      default:
        bytes = bytes.concat(bytes.slice(0, gen.int(bytes.length + 1)));
    }
  }
  return Uint8Array.from(bytes);
}

/** The request messages of one call: one for unary and server-streaming methods, a few for client streams. */
function caseMessages(target: FuzzTarget, kind: FuzzCaseKind, gen: Gen, maxMessageBytes: number): Buffer[] {
  const streaming = target.kind === "client_streaming" || target.kind === "bidi_streaming";
  const count = streaming ? 1 + gen.int(kind === "valid" ? 20 : 4) : 1;
  // Big values only as big as fits a few in a message under the limit: oversized is its own case.
  const maxValue = Math.max(64, Math.floor(maxMessageBytes / 8));
  const valid = () => new MessageEncoder(gen, "valid", maxValue).encode(target.input);
  const one = (): Uint8Array => {
    switch (kind) {
      case "random-bytes":
        return gen.bytes(gen.length(4096));
      case "valid":
        return valid();
      case "truncated": {
        const bytes = new MessageEncoder(gen, "extremes", maxValue).encode(target.input);
        return bytes.subarray(0, bytes.length === 0 ? 0 : gen.int(bytes.length));
      }
      case "mutated":
        return mutate(gen, valid());
      case "oversized": {
        // A valid message with one unknown length-delimited field that takes it past the limit.
        const w = new BinaryWriter();
        w.raw(valid());
        w.tag(999, WireType.LengthDelimited).bytes(new Uint8Array(maxMessageBytes + 1 + gen.int(1024)));
        return w.finish();
      }
      default:
        return new MessageEncoder(gen, kind, maxValue).encode(target.input);
    }
  };
  return Array.from({ length: count }, () => Buffer.from(one()));
}

const identity = (value: Buffer) => value;

interface Outcome {
  code: string;
  details: string;
}

function outcomeOf(error: grpc.ServiceError | grpc.StatusObject | null): Outcome {
  if (!error) return { code: "OK", details: "" };
  return { code: grpc.status[error.code] ?? `CODE_${error.code}`, details: error.details ?? "" };
}

function send(client: grpc.Client, target: FuzzTarget, messages: Buffer[], deadlineMs: number): Promise<Outcome> {
  const options = { deadline: Date.now() + deadlineMs };
  return new Promise((resolve) => {
    switch (target.kind) {
      case "unary":
        client.makeUnaryRequest(target.path, identity, identity, messages[0]!, new grpc.Metadata(), options, (error) => resolve(outcomeOf(error)));
        return;
      case "client_streaming": {
        const call = client.makeClientStreamRequest(target.path, identity, identity, new grpc.Metadata(), options, (error) => resolve(outcomeOf(error)));
        for (const message of messages) call.write(message);
        call.end();
        return;
      }
      case "server_streaming": {
        // A watch-style stream may never end: its first answer (or its status) is the outcome.
        const call = client.makeServerStreamRequest(target.path, identity, identity, messages[0]!, new grpc.Metadata(), options);
        call.on("data", () => {
          resolve({ code: "OK", details: "" });
          call.cancel();
        });
        call.on("error", () => undefined);
        call.on("status", (status: grpc.StatusObject) => resolve(outcomeOf(status.code === grpc.status.OK ? null : status)));
        return;
      }
      case "bidi_streaming": {
        const call = client.makeBidiStreamRequest(target.path, identity, identity, new grpc.Metadata(), options);
        call.on("data", () => undefined);
        call.on("error", () => undefined);
        call.on("status", (status: grpc.StatusObject) => resolve(outcomeOf(status.code === grpc.status.OK ? null : status)));
        for (const message of messages) call.write(message);
        call.end();
        return;
      }
    }
  });
}

/**
 * Fuzzes every target: `callsPerMethod` calls each, case kinds in rotation, outcomes checked by `accept`
 * (true = a proper answer). Oversized cases are a few per method (they cost the most bytes).
 */
export async function fuzzServer(address: string, targets: readonly FuzzTarget[], options: FuzzOptions, accept: (call: FuzzCall) => boolean): Promise<FuzzReport> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { "grpc.max_send_message_length": -1, "grpc.max_receive_message_length": -1 });
  const active = targets.filter((t) => !options.skip?.includes(t.path));
  const byCode: Record<string, number> = {};
  const byKind = Object.fromEntries(FUZZ_CASE_KINDS.map((k) => [k, 0])) as Record<FuzzCaseKind, number>;
  const byMethod: Record<string, Record<string, number>> = {};
  const rejected: FuzzCall[] = [];
  let messagesSent = 0;
  let bytesSent = 0;
  let calls = 0;
  const jobs = active.flatMap((target) => Array.from({ length: options.callsPerMethod }, (_, index) => ({ target, index })));
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { target, index } = jobs[next++]!;
      // Each call has its own generator (seed, method, index), so one call reproduces on its own.
      const gen = new Gen(seedrandom(`${options.seed}/${target.path}/${index}`));
      const kinds = FUZZ_CASE_KINDS.filter((k) => k !== "oversized");
      const kind: FuzzCaseKind = index % 40 === 39 ? "oversized" : kinds[index % kinds.length]!;
      const messages = caseMessages(target, kind, gen, options.maxMessageBytes);
      const outcome = await send(client, target, messages, options.deadlineMs ?? 5_000);
      const bytes = messages.reduce((sum, m) => sum + m.length, 0);
      const call: FuzzCall = { path: target.path, kind, index, messages: messages.length, bytes, ...outcome };
      calls++;
      messagesSent += messages.length;
      bytesSent += bytes;
      byCode[outcome.code] = (byCode[outcome.code] ?? 0) + 1;
      byKind[kind]++;
      byMethod[target.path] ??= {};
      const method = byMethod[target.path]!;
      method[outcome.code] = (method[outcome.code] ?? 0) + 1;
      if (!accept(call)) rejected.push(call);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  } finally {
    client.close();
  }
  return { seed: options.seed, methods: active.map((t) => t.path), calls, messagesSent, bytesSent, byCode, byKind, byMethod, rejected };
}
