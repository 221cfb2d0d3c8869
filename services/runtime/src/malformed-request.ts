// Request bytes that do not decode as the method's message are the caller's mistake (INVALID_ARGUMENT), but
// grpc-js answers a throwing deserializer with INTERNAL "Error deserializing request", which reads as a server
// bug and hides what was wrong (found by fuzzing). So every service the server adds — ours, health and
// reflection alike — gets a deserializer that never throws: it returns a MalformedRequest, and a server
// interceptor answers that with INVALID_ARGUMENT naming the method and the decoder's complaint before any
// handler sees it. Such calls never reach the middleware chain, as before (no request id, no call metrics).
import * as grpc from "@grpc/grpc-js";

/** What a decoding failure deserializes to. */
export class MalformedRequest {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {}
}

/** The same service with deserializers that return MalformedRequest instead of throwing. */
export function withTolerantDeserializers<S extends grpc.ServiceDefinition>(service: S): S {
  const wrapped: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [key, method] of Object.entries(service)) {
    const decode = method.requestDeserialize;
    wrapped[key] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (error) {
          return new MalformedRequest(method.path, error instanceof Error ? error.message : String(error));
        }
      },
    };
  }
  return wrapped as unknown as S;
}

/** Ends a call whose request (or any message of its stream) is a MalformedRequest with INVALID_ARGUMENT. */
export const rejectMalformedRequests: grpc.ServerInterceptor = (_method, call) => {
  let rejected = false;
  return new grpc.ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMessage: (message, forward) => {
          if (rejected) return;
          if (!(message instanceof MalformedRequest)) return forward(message);
          rejected = true;
          call.sendStatus({
            code: grpc.status.INVALID_ARGUMENT,
            details: `request to ${message.path} is not a valid protobuf message of its type (${message.reason}); encode it with the service's .proto definition`,
            metadata: new grpc.Metadata(),
          });
        },
        onReceiveHalfClose: (forward) => {
          if (!rejected) forward();
        },
      }),
  });
};

/** A grpc-js server on which every added service (including ones libraries add) rejects malformed requests. */
export class TolerantServer extends grpc.Server {
  constructor(options: grpc.ServerOptions = {}) {
    super({ ...options, interceptors: [rejectMalformedRequests, ...(options.interceptors ?? [])] });
  }

  override addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    super.addService(withTolerantDeserializers(service), implementation);
  }
}
