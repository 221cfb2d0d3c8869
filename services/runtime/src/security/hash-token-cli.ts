#!/usr/bin/env node
// `npm run hash-token`: the hash of a bearer token for the callers file. The token is read from stdin (never
// from the command line, which shell history and `ps` keep); `--generate` makes a new random one.
import { generateToken, hashToken } from "./callers-file.js";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

const args = process.argv.slice(2);
if (args.includes("--help") || args.some((arg) => arg !== "--generate")) {
  process.stderr.write("usage: npm run -s hash-token -- --generate    (new token on stderr, its hash on stdout)\n       printf %s \"$TOKEN\" | npm run -s hash-token   (hash of an existing token)\n");
  process.exit(args.includes("--help") ? 0 : 2);
}
if (args.includes("--generate")) {
  const token = generateToken();
  process.stderr.write(`token (give it to the caller, store it nowhere else): ${token}\n`);
  process.stdout.write(`${hashToken(token)}\n`);
} else {
  const token = await readStdin();
  if (!/^[\x21-\x7e]{16,}$/.test(token)) {
    process.stderr.write("a token is at least 16 visible ASCII characters (no spaces); use --generate for a new one\n");
    process.exit(2);
  }
  process.stdout.write(`${hashToken(token)}\n`);
}
