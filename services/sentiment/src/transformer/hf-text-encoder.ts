import { Tokenizer } from "@huggingface/tokenizers";

/** One text's ids with the tokenizer's special tokens, cut to the model's maximum length. */
export interface EncodedInput {
  ids: number[];
  /** True when the text had more tokens than fit and its end was cut. */
  truncated: boolean;
}

/**
 * Tokenizes with a Hugging Face `tokenizer.json` through @huggingface/tokenizers and truncates from the
 * right the way transformers' tokenizers do: the text's own tokens are cut so that they plus the special
 * tokens of the single-sequence template ([CLS] … [SEP], <s> … </s>, …) fit in `maxLength`.
 * The library has no truncation of its own, so the template is read off the tokenizer once at load: which
 * specials come before the text and which after.
 */
export class HfTextEncoder {
  private readonly prefix: number[];
  private readonly suffix: number[];

  constructor(
    private readonly tokenizer: Tokenizer,
    readonly maxLength: number,
    /** Id used for padding positions. */
    readonly padId: number,
  ) {
    const probe = "sentiment";
    const full = tokenizer.encode(probe).ids;
    const content = tokenizer.encode(probe, { add_special_tokens: false }).ids;
    const at = indexOfRun(full, content);
    if (at === -1 || content.length === 0) throw new Error("tokenizer.json: cannot find the text between the special tokens of its template");
    this.prefix = full.slice(0, at);
    this.suffix = full.slice(at + content.length);
    if (maxLength <= this.prefix.length + this.suffix.length) {
      throw new Error(`maximum length ${maxLength} leaves no room for text beside ${this.prefix.length + this.suffix.length} special tokens`);
    }
  }

  static fromJson(tokenizerJson: object, tokenizerConfig: object, maxLength: number, padId: number): HfTextEncoder {
    return new HfTextEncoder(new Tokenizer(tokenizerJson, tokenizerConfig), maxLength, padId);
  }

  /**
   * Splits a long text's tokens into windows of the model's length that overlap by half, each with the
   * template's special tokens; the classifier pools their logits. A text that fits is one window. Past
   * `maxWindows` windows the text's end is cut (truncated), so one huge input cannot stall a batch.
   */
  encodeWindows(text: string, maxWindows: number): { windows: number[][]; truncated: boolean } {
    const content = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    const room = this.maxLength - this.prefix.length - this.suffix.length;
    if (content.length <= room) return { windows: [[...this.prefix, ...content, ...this.suffix]], truncated: false };
    // Half-overlapping windows: every token sits in the middle of some window, with context on both sides.
    const stride = Math.max(1, Math.floor(room / 2));
    const windows: number[][] = [];
    let start = 0;
    for (; windows.length < maxWindows; start += stride) {
      windows.push([...this.prefix, ...content.slice(start, start + room), ...this.suffix]);
      if (start + room >= content.length) break;
    }
    return { windows, truncated: start + room < content.length };
  }

  encode(text: string): EncodedInput {
    const content = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    const room = this.maxLength - this.prefix.length - this.suffix.length;
    const truncated = content.length > room;
    return { ids: [...this.prefix, ...(truncated ? content.slice(0, room) : content), ...this.suffix], truncated };
  }
}

function indexOfRun(haystack: number[], needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
