// Turns a request mix into calls on a real gRPC channel. Requests are built from the mix's proto JSON with the
// generated codecs (so a field name the API does not have is caught by the mix test, not sent silently) and
// kept encoded, so the generator spends its CPU on calls, not on protobuf.
import * as grpc from "@grpc/grpc-js";
import * as api from "@funnel/proto";
import { pickEntry, type MixEntry, type ServiceMix } from "./request-mixes.js";

interface MessageCodec {
  fromJSON(json: unknown): unknown;
  encode(message: unknown): { finish(): Uint8Array };
}

export interface GrpcMixCallerOptions {
  /** host:port, e.g. 127.0.0.1:50051 or funnel-router.funnel.svc:50051. */
  target: string;
  mix: ServiceMix;
  /** Per-call deadline; a call past it counts as DEADLINE_EXCEEDED. */
  deadlineMs: number;
  /** HTTP/2 connections to spread calls over (one is what a single grpc-js client uses). */
  connections?: number;
  /** Distinct requests to keep encoded; call i reuses request i mod this (repeats are realistic traffic). */
  distinctRequests?: number;
  /** Channel credentials (TLS, a bearer token) and the options they need; plaintext when absent. */
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
}

export interface GrpcMixCaller {
  call(i: number): Promise<void>;
  /** The method call i uses ("SentimentService/Analyze"), for per-method breakdowns. */
  method(i: number): string;
  close(): void;
}

/** Request message codec of a funnel.v1 method; buf lint (RPC_REQUEST_STANDARD_NAME) guarantees `<Method>Request`. */
export function requestCodec(method: string): MessageCodec {
  const name = `${method.split("/")[1]}Request`;
  const codec = (api as unknown as Record<string, MessageCodec | undefined>)[name];
  if (!codec || typeof codec.fromJSON !== "function") throw new Error(`no request message ${name} for ${method} in funnel.v1`);
  return codec;
}

export function grpcMixCaller(options: GrpcMixCallerOptions): GrpcMixCaller {
  const connections = Math.max(1, options.connections ?? 1);
  const clients = Array.from(
    { length: connections },
    // A local subchannel pool per client, so N clients really open N connections instead of sharing one.
    () =>
      new grpc.Client(options.target, options.credentials ?? grpc.credentials.createInsecure(), {
        ...options.channelOptions,
        "grpc.use_local_subchannel_pool": 1,
      }),
  );
  const pool = Math.max(1, options.distinctRequests ?? 10_000);
  const encoded = new Map<number, Buffer>();
  const codecs = new Map<MixEntry, MessageCodec>(options.mix.entries.map((entry) => [entry, requestCodec(entry.method)]));
  const identity = (value: Buffer) => value;
  const discard = () => undefined;

  const requestBytes = (entry: MixEntry, i: number): Buffer => {
    const key = i % pool;
    let bytes = encoded.get(key);
    if (!bytes) {
      const codec = codecs.get(entry)!;
      bytes = Buffer.from(codec.encode(codec.fromJSON(entry.request(key))).finish());
      encoded.set(key, bytes);
    }
    return bytes;
  };

  return {
    method: (i) => pickEntry(options.mix, i % pool).method,
    call(i) {
      const entry = pickEntry(options.mix, i % pool);
      const client = clients[i % connections]!;
      const deadline = new Date(Date.now() + options.deadlineMs);
      return new Promise<void>((resolve, reject) => {
        client.makeUnaryRequest(`/funnel.v1.${entry.method}`, identity, discard, requestBytes(entry, i), new grpc.Metadata(), { deadline }, (error) =>
          error ? reject(error) : resolve(),
        );
      });
    },
    close() {
      for (const client of clients) client.close();
    },
  };
}
