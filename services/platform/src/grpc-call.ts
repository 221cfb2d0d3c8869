// A tiny grpcurl stand-in for machines without it: calls any funnel.v1 unary method with a JSON request.
//   npm run call -- SentimentService/Analyze '{"text":"charged twice!","page":"PAGE_TYPE_PAYMENT"}'
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { PROTO_FILES, PROTO_ROOT } from "@funnel/proto";
import { Command } from "commander";

const program = new Command()
  .name("grpc-call")
  .argument("<method>", "Service/Method, e.g. SentimentService/Analyze")
  .argument("[json]", "request as JSON (proto field names, enums by name)", "{}")
  .option("--address <host:port>", "server address", "127.0.0.1:50051")
  .option("--deadline-ms <ms>", "call deadline", "10000")
  .action((method: string, json: string, options: { address: string; deadlineMs: string }) => {
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
    const client = new Service(options.address, grpc.credentials.createInsecure());
    client[methodName!](request, { deadline: Date.now() + Number(options.deadlineMs) }, (error: grpc.ServiceError | null, response: unknown) => {
      client.close();
      if (error) {
        process.stderr.write(`${grpc.status[error.code]}: ${error.details}\n`);
        process.exit(1);
      }
      process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
    });
  });

program.parse();
