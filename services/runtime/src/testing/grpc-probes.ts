// Real clients for the standard health and reflection services, for end-to-end tests of any service.
import { createRequire } from "node:module";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { service as healthService } from "grpc-health-check";

const require = createRequire(import.meta.url);

export type HealthStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

/** grpc.health.v1.Health/Check; resolves with the status name (NOT_FOUND maps to SERVICE_UNKNOWN). */
export function checkHealth(address: string, service = "", credentials = grpc.credentials.createInsecure(), metadata = new grpc.Metadata()): Promise<HealthStatus> {
  const Client = grpc.makeClientConstructor(healthService, "Health");
  const client = new Client(address, credentials) as unknown as grpc.Client & {
    check(req: { service: string }, metadata: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: { status: HealthStatus }) => void): void;
  };
  return new Promise((resolve, reject) => {
    client.check({ service }, metadata, (error, response) => {
      client.close();
      if (error?.code === grpc.status.NOT_FOUND) resolve("SERVICE_UNKNOWN");
      else if (error) reject(error);
      else resolve(response!.status);
    });
  });
}

/** Which reflection service to ask: the current one or the older one many tools still use. */
export type ReflectionVersion = "v1" | "v1alpha";

/** grpc.reflection list_services: the fully-qualified service names the server exposes. */
export function listServicesByReflection(address: string, version: ReflectionVersion = "v1", credentials?: grpc.ChannelCredentials): Promise<string[]> {
  return reflect(address, { list_services: "" }, version, credentials).then((response) =>
    (response.list_services_response?.service ?? []).map((s: { name: string }) => s.name),
  );
}

/** grpc.reflection file_containing_symbol: the serialized FileDescriptorProtos for a symbol (the file first, then its imports). */
export function fileContainingSymbolByReflection(address: string, symbol: string, version: ReflectionVersion = "v1"): Promise<Buffer[]> {
  return fileDescriptors(reflect(address, { file_containing_symbol: symbol }, version));
}

/** grpc.reflection file_by_filename: the serialized FileDescriptorProtos of a file (the file first, then its imports). */
export function fileByFilenameByReflection(address: string, filename: string, version: ReflectionVersion = "v1"): Promise<Buffer[]> {
  return fileDescriptors(reflect(address, { file_by_filename: filename }, version));
}

async function fileDescriptors(answer: Promise<any>): Promise<Buffer[]> {
  const response = await answer;
  if (response.error_response) throw new Error(`reflection error ${response.error_response.error_code}: ${response.error_response.error_message}`);
  return response.file_descriptor_response?.file_descriptor_proto ?? [];
}

/** Sends one raw ServerReflectionRequest (proto field names) and resolves with the raw response. */
export function reflect(address: string, request: Record<string, unknown>, version: ReflectionVersion = "v1", credentials = grpc.credentials.createInsecure()): Promise<any> {
  const reflectionRoot = path.resolve(path.dirname(require.resolve("@grpc/reflection")), "../proto");
  const definition = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [reflectionRoot], keepCase: true });
  const pkg = grpc.loadPackageDefinition(definition) as any;
  const client = new pkg.grpc.reflection[version].ServerReflection(address, credentials);
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo();
    call.on("data", (response: unknown) => {
      resolve(response);
      call.end();
    });
    call.on("error", (error: Error) => reject(error));
    call.on("end", () => client.close());
    call.write(request);
  });
}
