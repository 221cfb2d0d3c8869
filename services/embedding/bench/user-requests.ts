// The request content of the benchmark: EmbedUsers calls mixing by-id and by-feature users, every feature
// input distinct (so an "uncached" run really computes), deterministic for a given sequence number.
import { DeviceType, type EmbedUsersRequest, InteractionType, PageType, type UserFeatures, type UserInput } from "@funnel/proto";

export interface UserRequestOptions {
  inputsPerCall: number;
  /** Raw user ids the model holds embeddings for (by-id inputs cycle through them). */
  userIds: readonly string[];
  /** Item ids for recent interactions (the model's item vocabulary). */
  itemIds: readonly string[];
  /** Interactions per by-feature user, at most; each user gets between half and all of them. */
  maxInteractions: number;
}

const DEVICES = [DeviceType.DEVICE_TYPE_DESKTOP, DeviceType.DEVICE_TYPE_MOBILE, DeviceType.DEVICE_TYPE_TABLET];
const PAGES = [PageType.PAGE_TYPE_HOME, PageType.PAGE_TYPE_SEARCH, PageType.PAGE_TYPE_PRODUCT, PageType.PAGE_TYPE_PAYMENT, PageType.PAGE_TYPE_CONFIRMATION];
const INTERACTIONS = [InteractionType.INTERACTION_TYPE_CLICK, InteractionType.INTERACTION_TYPE_SCROLL, InteractionType.INTERACTION_TYPE_HOVER, InteractionType.INTERACTION_TYPE_FORM];

/** Input n is by id when n is even, by features when odd: half and half in every call of 2+ inputs. */
export function userRequest(seq: number, options: UserRequestOptions): EmbedUsersRequest {
  const users: UserInput[] = [];
  for (let j = 0; j < options.inputsPerCall; j++) {
    const n = seq * options.inputsPerCall + j;
    users.push(
      n % 2 === 0
        ? { input: { $case: "userId", value: options.userIds[(n / 2) % options.userIds.length]! } }
        : { input: { $case: "features", value: userFeatures((n - 1) / 2, options) } },
    );
  }
  return { users };
}

/** The k-th by-feature user: a plausible shopper profile, distinct from every other k. */
export function userFeatures(k: number, options: Pick<UserRequestOptions, "itemIds" | "maxInteractions">): UserFeatures {
  const h = mix(k);
  const sessions = 1 + (h % 12);
  const interactions = sessions * (2 + ((h >>> 4) % 6));
  const conversions = (h >>> 8) % 3;
  const length = Math.ceil(options.maxInteractions / 2) + ((h >>> 12) % (Math.floor(options.maxInteractions / 2) + 1));
  return {
    device: DEVICES[k % DEVICES.length]!,
    sessionCount: sessions,
    // The only field that carries k itself: distinct for a million inputs, still a plausible 10 s .. 17 min.
    avgSessionDurationSeconds: 10 + (k % 1_000_000) / 1000,
    interactionCount: interactions,
    interactionDensity: interactions / sessions,
    conversionCount: conversions,
    conversionRate: conversions / sessions,
    recentInteractions: Array.from({ length }, (_, i) => {
      const r = mix(k * 31 + i);
      return {
        page: PAGES[r % PAGES.length]!,
        interaction: INTERACTIONS[(r >>> 3) % INTERACTIONS.length]!,
        itemId: options.itemIds[(r >>> 6) % options.itemIds.length]!,
        durationSeconds: 1 + ((r >>> 16) % 120),
      };
    }),
  };
}

/** A 32-bit integer hash (murmur3 finaliser): cheap, deterministic, well spread. */
function mix(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
