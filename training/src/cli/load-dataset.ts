import {
  generateDataset,
  loadEvents,
  loadItemAttributes,
  loadUserAttributes,
  type LoadReport,
  type RowError,
} from "../data/index.js";
import type { InteractionEvent } from "@funnel/two-tower";
import type { ItemAttributeInput } from "../model/build-retrieval-task.js";
import { progressBar } from "./training-progress.js";

export interface Dataset {
  events: InteractionEvent[];
  itemAttributes: ItemAttributeInput[];
  /** user id → attributes from a user attribute table (--user-attributes), if one was given. */
  userAttributes?: Map<string, Record<string, string>>;
  /** user id → latent segment, known only for generated data (ground truth for similar-user accuracy). */
  segments?: Map<string, string>;
  /** What was read and rejected, per file and line; undefined for generated data. */
  report?: LoadReport;
  source: string;
}

/** Generated data or event files (plus an optional item attribute table), with row errors surfaced. */
export async function loadDataset(
  source: { files: string[]; itemsFile?: string | undefined; usersFile?: string | undefined; generate?: { users: number; seed: number; items?: number | undefined } | undefined },
  options: { progress?: boolean; strict?: boolean; log?: (line: string) => void } = {},
): Promise<Dataset> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (source.generate) {
    const g = source.generate;
    const data = generateDataset({ users: g.users, seed: g.seed, ...(g.items === undefined ? {} : { items: g.items }) });
    log(`generated ${data.events.length} events for ${data.users.length} users and ${data.items.length} items (seed ${g.seed})`);
    return {
      events: data.events,
      itemAttributes: data.items,
      segments: new Map(data.users.map((u) => [u.userId, u.segment])),
      source: `generated:users=${g.users},seed=${g.seed}${g.items ? `,items=${g.items}` : ""}`,
    };
  }
  if (source.files.length === 0) throw new Error("no data: pass --data <file...> or --generate");
  const bar = progressBar("rows", 0, options.progress ?? true);
  let loaded: Awaited<ReturnType<typeof loadEvents>>;
  try {
    loaded = await loadEvents(source.files, { strict: options.strict, onProgress: (rows) => bar.update(rows) });
  } finally {
    bar.stop();
  }
  reportRejections(loaded.report, log);
  let itemAttributes: ItemAttributeInput[] = [];
  if (source.itemsFile) {
    const items = await loadItemAttributes(source.itemsFile, { strict: options.strict });
    reportRejections(items.report, log);
    itemAttributes = items.items;
  }
  let userAttributes: Map<string, Record<string, string>> | undefined;
  if (source.usersFile) {
    const users = await loadUserAttributes(source.usersFile, { strict: options.strict });
    reportRejections(users.report, log);
    userAttributes = new Map(users.users.map(({ userId, ...rest }) => [userId, Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, String(v)]))]));
  }
  if (loaded.events.length === 0) throw new Error(`no valid events in ${source.files.join(", ")} (${loaded.report.rowsRejected} rows rejected)`);
  return { events: loaded.events, itemAttributes, ...(userAttributes ? { userAttributes } : {}), report: loaded.report, source: source.files.join(",") };
}

/** Every rejected row is counted; the first ones are printed with file and line so they can be fixed. */
function reportRejections(report: LoadReport, log: (line: string) => void, shown = 20): void {
  log(`read ${report.rowsRead} rows from ${report.files.join(", ")}: ${report.rowsAccepted} accepted, ${report.rowsRejected} rejected`);
  for (const e of report.errors.slice(0, shown) as RowError[]) log(`  ${e.file}:${e.line}: ${e.reason}`);
  if (report.errors.length > shown) log(`  ... and ${report.errors.length - shown} more rejected rows (use --strict to stop at the first)`);
}
