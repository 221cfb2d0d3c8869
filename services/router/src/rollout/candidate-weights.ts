// The one edit a rollout step makes to the experiment file: the candidate's share of each experiment it is
// in. YAML is edited as a document so the file's comments and layout survive (it lives in git and a ConfigMap).
import { parseDocument } from "yaml";
import { parseExperimentConfig } from "../experiment-config.js";

/**
 * Sets `candidate` to `percent` % of the weight in every experiment that lists it; the other variants share
 * the rest in proportion to their current weights (all of it to them equally when they are all at 0). The
 * result is validated as the router would validate it.
 */
export function withCandidateWeight(yamlText: string, candidate: string, percent: number): string {
  if (!(Number.isInteger(percent) && percent >= 0 && percent <= 100)) throw new RangeError(`a rollout step is a whole percentage 0..100, got ${percent}`);
  const doc = parseDocument(yamlText);
  const config = parseExperimentConfig(yamlText, "experiments file");
  let touched = 0;
  config.experiments.forEach((experiment, e) => {
    const index = experiment.variants.findIndex((v) => v.name === candidate);
    if (index < 0) return;
    touched++;
    const others = experiment.variants.map((v, i) => ({ v, i })).filter(({ i }) => i !== index);
    if (others.length === 0) throw new Error(`experiment ${experiment.name}: "${candidate}" is its only variant; there is nothing to roll out from`);
    const othersTotal = others.reduce((n, { v }) => n + v.weight, 0);
    const rest = 100 - percent;
    let assigned = 0;
    others.forEach(({ v, i }, k) => {
      const share = k === others.length - 1 ? rest - assigned : Math.round((othersTotal > 0 ? v.weight / othersTotal : 1 / others.length) * rest);
      assigned += share;
      doc.setIn(["experiments", e, "variants", i, "weight"], share);
    });
    doc.setIn(["experiments", e, "variants", index, "weight"], percent);
  });
  if (touched === 0) throw new Error(`no experiment has a variant "${candidate}"; add it (weight 0) to the experiments of the model being rolled out`);
  const text = doc.toString();
  parseExperimentConfig(text, "experiments file after the step");
  return text;
}

/** The candidate's share of the weight (percent) in each experiment that lists it. */
export function candidateShares(yamlText: string, candidate: string): Record<string, number> {
  const config = parseExperimentConfig(yamlText, "experiments file");
  const out: Record<string, number> = {};
  for (const experiment of config.experiments) {
    const variant = experiment.variants.find((v) => v.name === candidate);
    if (!variant) continue;
    const total = experiment.variants.reduce((n, v) => n + v.weight, 0);
    out[experiment.name] = (variant.weight / total) * 100;
  }
  return out;
}
