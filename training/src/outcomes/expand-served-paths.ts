// Which served-recommendation log files a join reads. In Kubernetes each Recommendation pod writes its own
// subdirectory of one shared volume (k8s/README.md), so a directory is searched recursively; the UTC day in
// a file's name (`served-recommendations-YYYY-MM-DD[.n].jsonl`) lets an hourly join skip old days unread.
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { SERVED_RECOMMENDATIONS_LOG } from "@funnel/two-tower";

const SERVED_FILE = new RegExp(`^${SERVED_RECOMMENDATIONS_LOG}-(\\d{4}-\\d{2}-\\d{2})(?:\\.\\d+)?\\.jsonl$`);

/**
 * Files stay as given; a directory means every served-log file below it whose day is `sinceDay` (YYYY-MM-DD)
 * or later. A directory with no such file is an error: a join over nothing would report all is well.
 */
export async function expandServedPaths(paths: readonly string[], sinceDay?: string): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    if (!(await stat(p)).isDirectory()) {
      files.push(p);
      continue;
    }
    const inside = (await readdir(p, { recursive: true }))
      .filter((f) => {
        const day = SERVED_FILE.exec(path.basename(f))?.[1];
        return day !== undefined && (sinceDay === undefined || day >= sinceDay);
      })
      .sort();
    if (inside.length === 0) throw new Error(`${p} holds no ${SERVED_RECOMMENDATIONS_LOG}-<day>.jsonl files${sinceDay ? ` from ${sinceDay} on` : ""}`);
    files.push(...inside.map((f) => path.join(p, f)));
  }
  return files;
}
