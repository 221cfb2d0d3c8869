export type LearningRateSchedule = "constant" | "cosine" | "step";
export const LEARNING_RATE_SCHEDULES: readonly LearningRateSchedule[] = ["constant", "cosine", "step"];

/**
 * Learning rate at a step. "cosine" decays from `base` to base/10 over the run after a linear warm-up;
 * "step" halves the rate every `stepEpochs` epochs.
 */
export function learningRateAt(args: {
  schedule: LearningRateSchedule;
  base: number;
  step: number;
  totalSteps: number;
  stepsPerEpoch: number;
  warmupSteps?: number;
  stepEpochs?: number;
}): number {
  const { schedule, base, step, totalSteps } = args;
  const warmup = args.warmupSteps ?? 0;
  if (warmup > 0 && step < warmup) return (base * (step + 1)) / warmup;
  switch (schedule) {
    case "constant":
      return base;
    case "cosine": {
      const progress = Math.min(1, (step - warmup) / Math.max(1, totalSteps - warmup));
      const floor = base / 10;
      return floor + 0.5 * (base - floor) * (1 + Math.cos(Math.PI * progress));
    }
    case "step":
      return base * 0.5 ** Math.floor(step / Math.max(1, args.stepsPerEpoch * (args.stepEpochs ?? 2)));
  }
}
