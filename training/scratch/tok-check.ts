import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";
import { trainWordPiece, WordPieceTokenizer } from "../src/text-classifier/wordpiece-tokenizer.ts";
const lines = readFileSync("/work/shared/data/sst2/train.tsv", "utf8").split("\n").slice(1).filter(Boolean).map((l) => l.split("\t")[0]!);
let t = Date.now();
const vocab = trainWordPiece(lines, { vocabSize: 6000 });
console.log("train", Date.now() - t, "ms", vocab.length);
const tok = new WordPieceTokenizer(vocab);
const lib = new Tokenizer(tok.toTokenizerJson(64), WordPieceTokenizer.tokenizerConfig(64));
t = Date.now();
let mism = 0, unk = 0, total = 0, lens: number[] = [];
for (const line of lines) {
  const a = tok.encode(line, 10000).ids; const b = lib.encode(line).ids;
  if (a.join() !== b.join()) { if (mism++ < 3) console.log(line, a, b); }
  total += a.length; unk += a.filter((x) => x === 1).length; lens.push(a.length);
}
lens.sort((a, b) => a - b);
console.log("compare", Date.now() - t, "ms mismatches", mism, "unk", unk, "tokens", total, "p50", lens[lens.length>>1], "p99", lens[Math.floor(lens.length*0.99)], "max", lens.at(-1));
for (const s of ["Ünïcödé café — naïve!!", "I didn't like it 😍 at all...", "中文 text"]) console.log(tok.encode(s, 100).ids.join(), "|", lib.encode(s).ids.join());
