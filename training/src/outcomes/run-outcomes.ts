// `npm run outcomes`: served-recommendation logs + outcome events → online hit and conversion rate per model
// version and day, compared with each version's offline evaluation and with the previous version.
import { pseudonymiseEvents } from "@funnel/two-tower";
import { loadEvents, type LoadReport } from "../data/index.js";
import { joinOutcomes, type OutcomeJoin } from "./join-outcomes.js";
import { outcomeAlerts, type OutcomeAlertOptions, type OutcomeAlerts } from "./outcome-alerts.js";
import { readServedLog, type ServedLogReport } from "./read-served-log.js";

export interface OutcomeRunOptions extends OutcomeAlertOptions {
  served: string[];
  events: string[];
  windowMs: number;
  /** The salt the serving side pseudonymised user ids with. */
  salt: string;
  /** The offline figure of a version (e.g. its registered recall@10), or undefined when there is none. */
  offlineFigure(model: string, version: string): Promise<number | undefined>;
}

export interface OutcomeRun {
  options: Pick<OutcomeRunOptions, "windowMs" | "maxDrop" | "minServed" | "offlineMetric">;
  servedReport: ServedLogReport;
  eventsReport: LoadReport;
  join: OutcomeJoin;
  offline: Record<string, number | null>;
  comparison: OutcomeAlerts;
}

export async function runOutcomes(options: OutcomeRunOptions): Promise<OutcomeRun> {
  const { records, report: servedReport } = await readServedLog(options.served);
  const { events, report: eventsReport } = await loadEvents(options.events);
  const join = joinOutcomes(records, pseudonymiseEvents(events, options.salt), { windowMs: options.windowMs });
  const offline = new Map<string, number>();
  const offlineReport: Record<string, number | null> = {};
  for (const v of join.byVersion) {
    const figure = await options.offlineFigure(v.model, v.version);
    offlineReport[`${v.model}@${v.version}`] = figure ?? null;
    if (figure !== undefined) offline.set(`${v.model}\u0000${v.version}`, figure);
  }
  const comparison = outcomeAlerts(join.byVersion, offline, options);
  return {
    options: { windowMs: options.windowMs, maxDrop: options.maxDrop, minServed: options.minServed, offlineMetric: options.offlineMetric },
    servedReport,
    eventsReport,
    join,
    offline: offlineReport,
    comparison,
  };
}
