/**
 * Who the model's recommendations work for. Every evaluated user gets the same K recommendations, so the share
 * of recommendation *slots* a group gets always equals its share of users; what can be skewed is the share of
 * *useful* recommendations (top-10 items the user went on to interact with in the held-out part). A group whose
 * share of those is far from its share of users is served better or worse than the rest.
 */
export interface BiasGroup {
  group: string;
  users: number;
  userShare: number;
  hits: number;
  hitShare: number;
  /** hitShare / userShare; null when there were no hits at all. */
  ratio: number | null;
  /** Past maxRatio either way, with at least minUsers users. */
  flagged: boolean;
}

export interface BiasDimension {
  dimension: string;
  groups: BiasGroup[];
}

export interface RecommendationBias {
  k: number;
  maxRatio: number;
  minUsers: number;
  users: number;
  hits: number;
  dimensions: BiasDimension[];
  /** "device=tablet 0.42×" for each flagged group: what a reader should look at. */
  flagged: string[];
}

export interface BiasOptions {
  /** Flag a group whose ratio is above maxRatio or below 1 / maxRatio. */
  maxRatio: number;
  /** Groups with fewer evaluated users are shown but never flagged: their share is noise. */
  minUsers: number;
}

export const DEFAULT_BIAS_OPTIONS: BiasOptions = { maxRatio: 1.5, minUsers: 20 };

/**
 * `hits` holds each evaluated user's hits in the top 10; `dimensions` maps a dimension name (device, segment,
 * history) to each user's group in it. Users a dimension has no group for count as "unknown".
 */
export function recommendationBias(
  hits: ReadonlyMap<number, number>,
  dimensions: Record<string, (user: number) => string | undefined>,
  options: BiasOptions = DEFAULT_BIAS_OPTIONS,
): RecommendationBias {
  if (!(options.maxRatio > 1)) throw new RangeError(`bias maxRatio must be > 1, got ${options.maxRatio}`);
  let totalHits = 0;
  for (const h of hits.values()) totalHits += h;
  const users = hits.size;
  const flagged: string[] = [];
  const result: BiasDimension[] = Object.entries(dimensions).map(([dimension, groupOf]) => {
    const byGroup = new Map<string, { users: number; hits: number }>();
    for (const [user, h] of hits) {
      const group = groupOf(user) ?? "unknown";
      const entry = byGroup.get(group) ?? { users: 0, hits: 0 };
      entry.users++;
      entry.hits += h;
      byGroup.set(group, entry);
    }
    const groups = [...byGroup.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([group, g]): BiasGroup => {
        const userShare = g.users / users;
        const hitShare = totalHits > 0 ? g.hits / totalHits : 0;
        const ratio = totalHits > 0 ? hitShare / userShare : null;
        const isFlagged = ratio !== null && g.users >= options.minUsers && (ratio > options.maxRatio || ratio < 1 / options.maxRatio);
        if (isFlagged) flagged.push(`${dimension}=${group} ${ratio.toFixed(2)}×`);
        return { group, users: g.users, userShare, hits: g.hits, hitShare, ratio, flagged: isFlagged };
      });
    return { dimension, groups };
  });
  return { k: 10, maxRatio: options.maxRatio, minUsers: options.minUsers, users, hits: totalHits, dimensions: result, flagged };
}
