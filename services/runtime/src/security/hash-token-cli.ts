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
  process.stderr.write("usage: npm run -s hash-token -- --generate > caller.token   (the bare token on stdout, its hash on stderr)\n       printf %s \"$TOKEN\" | npm run -s hash-token   (hash of an existing token)\n");
  process.exit(args.includes("--help") ? 0 : 2);
}
if (args.includes("--generate")) {
  // The bare token on stdout, so `> caller.token` makes a file `--token-file` reads as it is; the hash (not a
  // secret) on stderr, labelled, for the callers file.
  const token = generateToken();
  process.stdout.write(`${token}\n`);
  process.stderr.write(`hash for callers.yaml (tokens: ["…"]): ${hashToken(token)}\n`);
} else {
  const token = await readStdin();
  if (!/^[\x21-\x7e]{16,}$/.test(token)) {
    process.stderr.write("a token is at least 16 visible ASCII characters (no spaces); use --generate for a new one\n");
    process.exit(2);
  }
  process.stdout.write(`${hashToken(token)}\n`);
}
