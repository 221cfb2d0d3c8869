// The cluster DNS of the fleet test: a UDP DNS server on loopback answering A queries for the names the test
// controls, as CoreDNS answers for a headless Service (one A record per ready pod). The router resolves its
// upstreams through it with grpc-js's own DNS resolver (`dns://127.0.0.1:<port>/name:port` targets with
// GRPC_NODE_USE_ALTERNATIVE_RESOLVER=true), so re-resolution is grpc-js's real behaviour, not a stand-in.
// Hand-written because an A answer is a few fixed fields, and no DNS package is among the dependencies.
import { createSocket, type Socket } from "node:dgram";

const TYPE_A = 1;
const RCODE_NXDOMAIN = 3;

export class FleetDns {
  private readonly records = new Map<string, string[]>();
  /** A queries answered per name: how often the router resolved it. */
  readonly queries = new Map<string, number>();

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on("message", (message, remote) => {
      const answer = this.answer(message);
      if (answer) socket.send(answer, remote.port, remote.address);
    });
  }

  static async start(): Promise<FleetDns> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, "127.0.0.1", () => resolve());
    });
    return new FleetDns(socket, socket.address().port);
  }

  /** The addresses `name` resolves to from now on (an empty list: the name exists with no ready pod). */
  set(name: string, addresses: readonly string[]): void {
    this.records.set(name.toLowerCase(), [...addresses]);
  }

  get(name: string): readonly string[] {
    return this.records.get(name.toLowerCase()) ?? [];
  }

  /** A gRPC target for `name` that resolves through this server. */
  target(name: string, port: number): string {
    return `dns://127.0.0.1:${this.port}/${name}:${port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private answer(query: Buffer): Buffer | undefined {
    if (query.length < 12 || query.readUInt16BE(4) < 1) return undefined;
    // The first question: labels up to the zero byte, then QTYPE and QCLASS.
    const labels: string[] = [];
    let offset = 12;
    while (offset < query.length && query[offset]! > 0) {
      const length = query[offset]!;
      labels.push(query.toString("ascii", offset + 1, offset + 1 + length));
      offset += 1 + length;
    }
    const questionEnd = offset + 5;
    if (questionEnd > query.length) return undefined;
    const type = query.readUInt16BE(offset + 1);
    const name = labels.join(".").toLowerCase();
    const addresses = this.records.get(name);
    if (type === TYPE_A && addresses) this.queries.set(name, (this.queries.get(name) ?? 0) + 1);
    const answers = type === TYPE_A && addresses ? addresses : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    // QR, the query's RD, RA; NXDOMAIN for names the test never set, NOERROR (maybe no data: AAAA, TXT) otherwise.
    header.writeUInt16BE(0x8080 | (query.readUInt16BE(2) & 0x0100) | (addresses ? 0 : RCODE_NXDOMAIN), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const records = answers.map((address) => {
      const record = Buffer.alloc(16);
      record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      record.writeUInt16BE(TYPE_A, 2);
      record.writeUInt16BE(1, 4); // class IN
      record.writeUInt32BE(0, 6); // TTL 0: nothing may cache an answer the test is about to change
      record.writeUInt16BE(4, 10);
      for (const [i, part] of address.split(".").entries()) record.writeUInt8(Number(part), 12 + i);
      return record;
    });
    return Buffer.concat([header, query.subarray(12, questionEnd), ...records]);
  }
}
