// `npm run soak -- --minutes N`: a steady load on the embedded platform for N minutes. Prints one JSON document
// (throughput, latency percentiles, calls by status, memory samples and the level-off verdict) on stdout and
// writes the HTML chart to --html. Exit code 99 when memory does not level off, so scripts can gate on it.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Presets, SingleBar } from "cli-progress";
import { positive, positiveInteger } from "./cli-numbers.js";
import { Command, InvalidArgumentError } from "commander";
import { renderSoakHtml } from "./render-soak-html.js";
import { DEFAULT_MIX_OPTIONS } from "./request-mixes.js";
import { runSoak } from "./run-soak.js";
import { startEmbeddedPlatform, type EmbeddedPlatform } from "./start-embedded-platform.js";

interface CliOptions {
  minutes: number;
  rate: number;
  target?: string;
  metricsUrl?: string;
  html: string;
  sampleSeconds: number;
  deadlineMs: number;
  toleranceMibPerMin: number;
  firstRunUsers: number;
  firstRunEpochs: number;
  users?: number;
  progress: boolean;
}

async function main(): Promise<void> {
  const options = new Command("soak")
    .description("Steady load on the embedded platform (all four services) for N minutes; throughput, p50/p99, errors by code, server heap and RSS over time, and whether memory levels off.")
    .option("--minutes <n>", "measured window in minutes (fractions allowed)", positive, 10)
    .option("--rate <per-second>", "calls per second, spread evenly over Sentiment, Embedding, Similarity and Recommendation", positive, 60)
    .option("--target <host:port>", "soak a running platform instead of starting one (needs --metrics-url)")
    .option("--metrics-url <url>", "that platform's Prometheus endpoint, e.g. http://127.0.0.1:9464/metrics")
    .option("--html <file>", "where to write the HTML chart", "soak-report.html")
    .option("--sample-seconds <s>", "memory and throughput sampling interval", positive, 5)
    .option("--deadline-ms <ms>", "per-call deadline", positiveInteger, 2_000)
    .option("--tolerance-mib-per-min <n>", "largest RSS growth over the last half still called level", positive, 1)
    .option("--first-run-users <n>", "started platform: users of the first-run model it trains", positiveInteger, 1_000)
    .option("--first-run-epochs <n>", "started platform: epochs of that model", positiveInteger, 2)
    .option("--users <n>", "user ids the served model knows (default: --first-run-users, or 5000 with --target: the first-run model of `npm start`)", positiveInteger)
    .option("--no-progress", "no progress bar on stderr")
    .parse()
    .opts<CliOptions>();
  if (options.target && !options.metricsUrl) throw new InvalidArgumentError("--target needs --metrics-url (memory is read from the server's metrics)");

  let platform: EmbeddedPlatform | undefined;
  if (!options.target) {
    process.stderr.write(`soak: starting the embedded platform (first run trains a ${options.firstRunUsers}-user model)\n`);
    platform = await startEmbeddedPlatform({ firstRunUsers: options.firstRunUsers, firstRunEpochs: options.firstRunEpochs });
  }
  const durationMs = options.minutes * 60_000;
  const bar = options.progress && process.stderr.isTTY ? new SingleBar({ format: "soak [{bar}] {percentage}% | {rss} MiB RSS | {tput} calls/s", stream: process.stderr }, Presets.shades_classic) : undefined;
  bar?.start(100, 0, { rss: 0, tput: 0 });
  try {
    const report = await runSoak({
      target: options.target ?? platform!.target,
      metricsUrl: options.metricsUrl ?? platform!.metricsUrl,
      durationMs,
      ratePerSec: options.rate,
      sampleMs: options.sampleSeconds * 1000,
      deadlineMs: options.deadlineMs,
      toleranceMiBPerMin: options.toleranceMibPerMin,
      mix: { ...DEFAULT_MIX_OPTIONS, users: options.users ?? (options.target ? DEFAULT_MIX_OPTIONS.users : options.firstRunUsers) },
      onSample: (sample, elapsedMs) =>
        bar?.update(Math.min(100, Math.round((100 * elapsedMs) / durationMs)), { rss: Math.round(sample.rssBytes / 1048576), tput: sample.throughputPerSec }),
    });
    bar?.stop();
    // npm runs this inside the package; a relative path means the directory the user ran npm from.
    const html = path.resolve(process.env.INIT_CWD ?? process.cwd(), options.html);
    await mkdir(path.dirname(html), { recursive: true });
    await writeFile(html, renderSoakHtml(report));
    process.stdout.write(`${JSON.stringify({ ...report, html }, null, 2)}\n`);
    process.stderr.write(`soak: ${report.memory.verdict}; chart ${html}\n`);
    if (!report.memory.levelsOff) process.exitCode = 99;
  } finally {
    bar?.stop();
    await platform?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
