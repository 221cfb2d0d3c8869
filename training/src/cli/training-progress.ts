import cliProgress from "cli-progress";
import type { TrainEpochLog, TrainHooks } from "../model/train-two-tower.js";

/**
 * Two progress bars (epochs, steps of the current epoch; only on a terminal and when enabled) plus one log line per epoch with loss, validation loss,
 * gradient norm and learning rate. Bars go to stderr so stdout stays parseable (JSON summaries).
 */
export function trainingProgress(
  totalEpochs: number,
  /** `refit`: a run without validation (train + validation merged), whose lines say so and show no validation figures. */
  options: { enabled?: boolean; label?: string; refit?: boolean } = {},
): TrainHooks & { stop(): void } {
  const enabled = options.enabled ?? true;
  // cli-progress cannot redraw without a terminal; logs (CI, files) get the per-epoch lines only.
  const showBars = enabled && process.stderr.isTTY === true;
  const bars = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      clearOnComplete: false,
      hideCursor: true,
      format: " {label} [{bar}] {value}/{total} {detail}",
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let epochBar: cliProgress.SingleBar | undefined;
  let stepBar: cliProgress.SingleBar | undefined;
  // Epoch lines are the run's record in logs, so they print even without bars.
  const log = (line: string): void => {
    if (showBars) bars.log(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  };
  return {
    onEpochStart(epoch, steps) {
      if (!showBars) return;
      epochBar ??= bars.create(totalEpochs, 0, { label: `${options.label ?? "epochs"}`.padEnd(8), detail: "" });
      epochBar.update(epoch - 1, { detail: `epoch ${epoch}` });
      if (stepBar) stepBar.setTotal(steps);
      else stepBar = bars.create(steps, 0, { label: "steps".padEnd(8), detail: "" });
      stepBar.update(0, { detail: "" });
    },
    onStep({ step, loss }) {
      stepBar?.update(step, { detail: `loss ${loss.toFixed(4)}` });
    },
    onEpochEnd(e: TrainEpochLog) {
      if (options.refit) {
        epochBar?.update(e.epoch, { detail: `train loss ${e.trainLoss.toFixed(4)}` });
        log(
          `refit epoch ${e.epoch}/${totalEpochs}: train loss ${e.trainLoss.toFixed(4)}, grad norm ${e.gradNorm.toFixed(3)}, ` +
            `lr ${e.learningRate.toExponential(2)}, ${Math.round(e.samplesPerSecond)} samples/s`,
        );
        return;
      }
      epochBar?.update(e.epoch, { detail: `val loss ${e.validationLoss.toFixed(4)}` });
      log(
        `epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, validation loss ${e.validationLoss.toFixed(4)}, ` +
          `${e["validation recall@10"] === undefined ? "" : `validation recall@10 ${e["validation recall@10"].toFixed(4)}, `}` +
          `grad norm ${e.gradNorm.toFixed(3)}, lr ${e.learningRate.toExponential(2)}, ${Math.round(e.samplesPerSecond)} samples/s, ${e.seconds.toFixed(1)} s${e.cpuSeconds === undefined ? "" : ` (${e.cpuSeconds.toFixed(1)} CPU s)`}`,
      );
    },
    stop() {
      bars.stop();
    },
  };
}

/** A single bar for other long work (loading rows, embedding, UMAP). */
export function progressBar(label: string, total: number, enabled = true): { update(n: number): void; stop(): void } {
  if (!enabled || process.stderr.isTTY !== true) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: ` ${label.padEnd(8)} [{bar}] {value}/{total}`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (n) => bar.update(n), stop: () => bar.stop() };
}
