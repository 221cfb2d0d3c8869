// A tiny grpcurl stand-in for machines without it: calls any funnel.v1 unary method with a JSON request.
//   npm run call -- SentimentService/Analyze '{"text":"charged twice!","page":"PAGE_TYPE_PAYMENT"}'
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { PROTO_FILES, PROTO_ROOT } from "@funnel/proto";
import { clientTls, createLogger, type ClientSecurityConfig, type ClientTls } from "@funnel/runtime";
import { Command } from "commander";

const program = new Command()
  .name("grpc-call")
  .argument("<method>", "Service/Method, e.g. SentimentService/Analyze")
  .argument("[json]", "request as JSON (proto field names, enums by name)", "{}")
  .option("--address <host:port>", "server address", "127.0.0.1:50051")
  .option("--deadline-ms <ms>", "call deadline", "10000")
  .option("--tls", "call over TLS (verified against the system CAs or --ca-file)")
  .option("--ca-file <pem>", "CA the server's certificate is verified against (implies --tls)")
  .option("--cert-file <pem>", "client certificate for mutual TLS (with --key-file)")
  .option("--key-file <pem>", "private key of --cert-file")
  .option("--server-name <name>", "name expected in the server's certificate, when not the address's host")
  .option("--token-file <file>", "file holding the bearer token sent as authorization metadata (a token on the command line would stay in shell history)")
  .action((method: string, json: string, options: CallOptions) => {
    const [serviceName, methodName] = method.split("/");
    const definition = protoLoader.loadSync([...PROTO_FILES], { includeDirs: [PROTO_ROOT], enums: String, longs: Number, defaults: true });
    const pkg = grpc.loadPackageDefinition(definition) as any;
    const Service = pkg.funnel?.v1?.[serviceName ?? ""];
    if (!Service || !methodName || !Service.service[methodName]) {
      const known = Object.keys(pkg.funnel.v1).filter((k) => pkg.funnel.v1[k].service);
      program.error(`unknown method "${method}"; services: ${known.join(", ")}`);
    }
    let request: unknown;
    try {
      request = JSON.parse(json);
    } catch (error) {
      program.error(`request is not valid JSON: ${(error as Error).message}`);
    }
    const connection = connect(options);
    const client = new Service(options.address, connection.credentials, connection.options);
    client[methodName!](request, { deadline: Date.now() + Number(options.deadlineMs) }, (error: grpc.ServiceError | null, response: unknown) => {
      client.close();
      connection.close();
      if (error) {
        process.stderr.write(`${grpc.status[error.code]}: ${error.details}\n`);
        process.exit(1);
      }
      process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
    });
  });

interface CallOptions {
  address: string;
  deadlineMs: string;
  tls?: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  tokenFile?: string;
}

function connect(options: CallOptions): ClientTls {
  try {
    return clientTls(clientSecurityOf(options), 60_000, createLogger("warn"), "the server");
  } catch (error) {
    return program.error((error as Error).message);
  }
}

/** The call's TLS and token as the runtime's client settings, so the rules are the same (no token in plaintext). */
function clientSecurityOf(options: CallOptions): ClientSecurityConfig {
  return {
    tls: Boolean(options.tls || options.caFile),
    caFile: options.caFile ?? "",
    certFile: options.certFile ?? "",
    keyFile: options.keyFile ?? "",
    serverName: options.serverName ?? "",
    tokenFile: options.tokenFile ?? "",
  };
}

program.parse();
