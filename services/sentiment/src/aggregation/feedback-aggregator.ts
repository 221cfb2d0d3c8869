import type { PageName, SentimentScore } from "../scoring/index.js";

export interface FeedbackObservation {
  userId: string;
  page?: PageName;
  device?: "desktop" | "mobile" | "tablet";
  timestamp?: Date;
  score: SentimentScore;
}
export interface Distribution {
  count: number;
  positive: number;
  neutral: number;
  negative: number;
  meanScore: number;
}
export interface Group {
  key: string;
  distribution: Distribution;
}
export interface FeedbackSummary {
  overall: Distribution;
  byPage: Group[];
  byUser: Group[];
  byDevice: Group[];
  /** UTC hour buckets, key like "2026-11-26T14:00:00Z" */
  byHour: Group[];
  /** UTC day buckets, key like "2026-11-26" */
  byDay: Group[];
}

/** Records that lack the grouping field are counted under this key rather than dropped. */
export const UNSPECIFIED = "unspecified";

/** Running counts for one key: constant size however many observations it absorbs. */
class Tally {
  count = 0;
  positive = 0;
  neutral = 0;
  negative = 0;
  private scoreSum = 0;

  add(score: SentimentScore): void {
    this.count++;
    this[score.label]++;
    this.scoreSum += score.score;
  }

  distribution(): Distribution {
    const { count, positive, neutral, negative } = this;
    return { count, positive, neutral, negative, meanScore: count === 0 ? 0 : this.scoreSum / count };
  }
}

class Grouping {
  private readonly tallies = new Map<string, Tally>();

  add(key: string, score: SentimentScore): void {
    let tally = this.tallies.get(key);
    if (!tally) {
      tally = new Tally();
      this.tallies.set(key, tally);
    }
    tally.add(score);
  }

  groups(): Group[] {
    return [...this.tallies.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, tally]) => ({ key, distribution: tally.distribution() }));
  }
}

function validTime(timestamp: Date | undefined): string | undefined {
  if (timestamp === undefined) return undefined;
  if (Number.isNaN(timestamp.getTime())) throw new Error("FeedbackObservation.timestamp is an invalid Date");
  return timestamp.toISOString();
}

/**
 * Sentiment distributions overall and by page, user, device, UTC hour and UTC day. Only counts and score
 * sums are kept (never texts), so memory grows with the number of distinct keys, not of observations.
 */
export class FeedbackAggregator {
  private readonly overall = new Tally();
  private readonly byPage = new Grouping();
  private readonly byUser = new Grouping();
  private readonly byDevice = new Grouping();
  private readonly byHour = new Grouping();
  private readonly byDay = new Grouping();

  add(observation: FeedbackObservation): void {
    const { score } = observation;
    if (!["positive", "neutral", "negative"].includes(score.label) || !Number.isFinite(score.score)) {
      throw new Error(`FeedbackObservation.score must have a known label and a finite score, got ${score.label}/${score.score}`);
    }
    const iso = validTime(observation.timestamp);
    this.overall.add(score);
    this.byPage.add(observation.page ?? UNSPECIFIED, score);
    this.byUser.add(observation.userId === "" ? UNSPECIFIED : observation.userId, score);
    this.byDevice.add(observation.device ?? UNSPECIFIED, score);
    // ISO strings are UTC, so slicing gives UTC buckets whatever the process time zone is.
    this.byHour.add(iso ? `${iso.slice(0, 13)}:00:00Z` : UNSPECIFIED, score);
    this.byDay.add(iso ? iso.slice(0, 10) : UNSPECIFIED, score);
  }

  summary(): FeedbackSummary {
    return {
      overall: this.overall.distribution(),
      byPage: this.byPage.groups(),
      byUser: this.byUser.groups(),
      byDevice: this.byDevice.groups(),
      byHour: this.byHour.groups(),
      byDay: this.byDay.groups(),
    };
  }
}
