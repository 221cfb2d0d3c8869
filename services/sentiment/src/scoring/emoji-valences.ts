import { emojiEmotion } from "emoji-emotion";

const VARIATION_SELECTOR = /\uFE0F/g;

/**
 * emoji-emotion rates emoji on the AFINN scale (-5..5); VADER's lexicon uses -4..4, so ratings are scaled
 * by 4/5 to sit on the same scale as the words they are summed with.
 */
const AFINN_TO_VADER = 4 / 5;

/** Emoji (without variation selector) → valence on the VADER scale. */
export function loadEmojiValences(): ReadonlyMap<string, number> {
  const valences = new Map<string, number>();
  for (const { emoji, polarity } of emojiEmotion) {
    valences.set(emoji.replace(VARIATION_SELECTOR, ""), polarity * AFINN_TO_VADER);
  }
  return valences;
}
