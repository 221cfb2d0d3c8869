// What both trainers (mlp and history) do at the end of an epoch: keep the best epoch's weights and stop once
// `patience` epochs brought nothing better. One place, so both select and stop by the same rule.
import type { TwoTowerModel, TwoTowerWeights } from "./two-tower-model.js";

export class EpochSelection {
  private best = { score: Number.NEGATIVE_INFINITY, loss: Number.POSITIVE_INFINITY, epoch: 0, weights: undefined as TwoTowerWeights | undefined };
  /** "validationLoss" until a hook provides the chosen metric as a finite number. */
  selectedOn = "validationLoss";
  stoppedEarly = false;

  constructor(private readonly options: { selectOn: string; patience: number; epochs: number }) {}

  get bestEpoch(): number {
    return this.best.epoch;
  }

  /**
   * Keeps this epoch's weights if it is the best so far; true when training should stop. Higher metric wins,
   * lower loss breaks ties; with loss alone the score is constant and the loss decides (a non-finite loss never wins).
   */
  endOfEpoch(epoch: number, validationLoss: number, metric: number | undefined, model: TwoTowerModel): boolean {
    if (metric !== undefined && Number.isFinite(metric)) this.selectedOn = `validation ${this.options.selectOn}`;
    const score = this.selectedOn === "validationLoss" ? 0 : metric!;
    const loss = Number.isFinite(validationLoss) ? validationLoss : Number.POSITIVE_INFINITY;
    if (score > this.best.score || (score === this.best.score && loss < this.best.loss)) {
      this.best = { score, loss, epoch, weights: model.getWeights() };
      return false;
    }
    if (epoch - this.best.epoch < this.options.patience) return false;
    this.stoppedEarly = epoch < this.options.epochs;
    return true;
  }

  /** Puts the best epoch's weights back into the model. */
  restoreBest(model: TwoTowerModel): void {
    if (this.best.weights) model.setWeights(this.best.weights);
  }
}

