// gRPC server reflection (grpc.reflection.v1 and v1alpha) answered from the FileDescriptorSets that `buf build`
// writes, not from a proto-loader definition: @grpc/reflection rebuilds descriptors from a merged protobufjs
// root and loses file names and imports, so grpcurl fails on any message that uses google.protobuf.Timestamp.
// Here every file is served byte for byte as buf compiled it (true name, declared dependencies, comments).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const require = createRequire(import.meta.url);

/** ServerReflectionRequest as proto-loader decodes it (keepCase, oneofs). */
export interface ReflectionRequest {
  host?: string;
  message_request?: "file_by_filename" | "file_containing_symbol" | "file_containing_extension" | "all_extension_numbers_of_type" | "list_services";
  file_by_filename?: string;
  file_containing_symbol?: string;
  file_containing_extension?: { containing_type: string; extension_number: number };
  all_extension_numbers_of_type?: string;
  list_services?: string;
}

/** ServerReflectionResponse (v1 and v1alpha have the same shape). */
export interface ReflectionResponse {
  valid_host: string;
  original_request: ReflectionRequest;
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  all_extension_numbers_response?: { base_type_name: string; extension_number: number[] };
  list_services_response?: { service: { name: string }[] };
  error_response?: { error_code: number; error_message: string };
}

interface IndexedFile {
  proto: FileDescriptorProto;
  bytes: Buffer;
}

export class ReflectionService {
  private readonly files = new Map<string, IndexedFile>();
  /** Fully-qualified symbol (message, field, enum, enum value, service, method, extension) → file name. */
  private readonly symbols = new Map<string, string>();
  /** Extended message type → extension field numbers declared for it. */
  private readonly extensions = new Map<string, Map<number, string>>();
  private readonly messageTypes = new Set<string>();

  /**
   * @param files every file the server can describe (a set and its imports)
   * @param services the services list_services reports (those this server actually serves)
   */
  constructor(
    files: readonly FileDescriptorProto[],
    private readonly services: readonly string[],
  ) {
    for (const proto of files) {
      if (this.files.has(proto.name)) continue;
      this.files.set(proto.name, { proto, bytes: Buffer.from(toBinary(FileDescriptorProtoSchema, proto)) });
      this.index(proto);
    }
    for (const { proto } of this.files.values()) {
      for (const dependency of proto.dependency) {
        if (!this.files.has(dependency)) throw new Error(`descriptor set: ${proto.name} imports ${dependency}, which is not in the set`);
      }
    }
    for (const service of services) {
      if (!this.symbols.has(service)) throw new Error(`descriptor set has no service ${service}; regenerate it (npm run generate)`);
    }
  }

  /** Reads binary FileDescriptorSets (`buf build -o x.binpb`, imports included) and merges them. */
  static fromDescriptorSetFiles(paths: readonly string[], services: readonly string[]): ReflectionService {
    const files = paths.flatMap((file) => fromBinary(FileDescriptorSetSchema, readFileSync(file)).file);
    return new ReflectionService(files, services);
  }

  /** Adds grpc.reflection.v1.ServerReflection and grpc.reflection.v1alpha.ServerReflection to the server. */
  addToServer(server: grpc.Server): void {
    for (const version of ["v1", "v1alpha"] as const) {
      server.addService(reflectionServiceDefinition(version), {
        ServerReflectionInfo: (call: grpc.ServerDuplexStream<ReflectionRequest, ReflectionResponse>) => {
          // Like grpc-go: within one stream a dependency already sent is not sent again.
          const sent = new Set<string>();
          call.on("data", (request: ReflectionRequest) => call.write(this.answer(request, sent)));
          call.on("end", () => call.end());
          call.on("error", () => undefined);
        },
      });
    }
  }

  /** Answers one reflection request. `sent` holds the files already sent on this stream. */
  answer(request: ReflectionRequest, sent: Set<string> = new Set()): ReflectionResponse {
    const base = { valid_host: request.host ?? "", original_request: request };
    const notFound = (message: string): ReflectionResponse => ({ ...base, error_response: { error_code: grpc.status.NOT_FOUND, error_message: message } });
    const withDependencies = (name: string): ReflectionResponse => ({ ...base, file_descriptor_response: { file_descriptor_proto: this.fileWithDependencies(name, sent) } });
    switch (request.message_request) {
      case "list_services":
        return { ...base, list_services_response: { service: this.services.map((name) => ({ name })) } };
      case "file_by_filename": {
        const name = request.file_by_filename ?? "";
        return this.files.has(name) ? withDependencies(name) : notFound(`file not found: ${name}`);
      }
      case "file_containing_symbol": {
        const symbol = (request.file_containing_symbol ?? "").replace(/^\./, "");
        const file = this.symbols.get(symbol);
        return file ? withDependencies(file) : notFound(`symbol not found: ${symbol}`);
      }
      case "file_containing_extension": {
        const { containing_type = "", extension_number = 0 } = request.file_containing_extension ?? {};
        const file = this.extensions.get(containing_type.replace(/^\./, ""))?.get(extension_number);
        return file ? withDependencies(file) : notFound(`extension ${extension_number} of ${containing_type} not found`);
      }
      case "all_extension_numbers_of_type": {
        const type = (request.all_extension_numbers_of_type ?? "").replace(/^\./, "");
        if (!this.messageTypes.has(type)) return notFound(`message type not found: ${type}`);
        const numbers = [...(this.extensions.get(type)?.keys() ?? [])].sort((a, b) => a - b);
        return { ...base, all_extension_numbers_response: { base_type_name: type, extension_number: numbers } };
      }
      default:
        return { ...base, error_response: { error_code: grpc.status.INVALID_ARGUMENT, error_message: "no request set in ServerReflectionRequest" } };
    }
  }

  /** The file itself (always) and then every transitive import not yet sent on this stream, breadth first. */
  private fileWithDependencies(name: string, sent: Set<string>): Buffer[] {
    const out: Buffer[] = [];
    const queue = [name];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const current = queue.shift()!;
      if (seen.has(current)) continue;
      seen.add(current);
      const file = this.files.get(current)!;
      if (current === name || !sent.has(current)) {
        out.push(file.bytes);
        sent.add(current);
      }
      queue.push(...file.proto.dependency);
    }
    return out;
  }

  private index(file: FileDescriptorProto): void {
    const scope = file.package ? `${file.package}.` : "";
    const add = (symbol: string) => this.symbols.set(symbol, file.name);
    const addExtension = (field: FieldDescriptorProto, parent: string) => {
      add(`${parent}${field.name}`);
      const extended = field.extendee.replace(/^\./, "");
      if (!this.extensions.has(extended)) this.extensions.set(extended, new Map());
      this.extensions.get(extended)!.set(field.number, file.name);
    };
    const addEnum = (enumType: EnumDescriptorProto, parent: string) => {
      add(`${parent}${enumType.name}`);
      // Enum values are scoped like siblings of their enum (C++ scoping rules).
      for (const value of enumType.value) add(`${parent}${value.name}`);
    };
    const addMessage = (message: DescriptorProto, parent: string) => {
      const name = `${parent}${message.name}`;
      add(name);
      this.messageTypes.add(name);
      for (const field of message.field) add(`${name}.${field.name}`);
      for (const oneof of message.oneofDecl) add(`${name}.${oneof.name}`);
      for (const nested of message.nestedType) addMessage(nested, `${name}.`);
      for (const nested of message.enumType) addEnum(nested, `${name}.`);
      for (const extension of message.extension) addExtension(extension, `${name}.`);
    };
    for (const message of file.messageType) addMessage(message, scope);
    for (const enumType of file.enumType) addEnum(enumType, scope);
    for (const extension of file.extension) addExtension(extension, scope);
    for (const service of file.service) {
      add(`${scope}${service.name}`);
      for (const method of service.method) add(`${scope}${service.name}.${method.name}`);
    }
  }
}

/** The ServerReflection service definition of grpc.reflection.{version}, from the .proto @grpc/reflection ships. */
function reflectionServiceDefinition(version: "v1" | "v1alpha"): grpc.ServiceDefinition {
  const protoDir = path.resolve(path.dirname(require.resolve("@grpc/reflection")), "../proto");
  const definition = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [protoDir], keepCase: true, oneofs: true });
  return definition[`grpc.reflection.${version}.ServerReflection`] as grpc.ServiceDefinition;
}
