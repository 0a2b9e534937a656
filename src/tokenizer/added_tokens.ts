/**
 * Added tokens (`[MASK]`, user tokens …): matched in the raw text before WordPiece, each
 * its own token. One pattern of all of them, longest first, as HF matches them; a text
 * holding none of their first characters skips the pattern.
 *
 * @example
 * ```ts
 * import { AddedTokens } from "./added_tokens.ts";
 * const added = new AddedTokens([
 *   { id: 103, content: "[MASK]", special: true },
 *   { id: 7, content: "[M]", special: false },
 * ]);
 * console.log(added.mayOccur("a [MASK] b"), added.mayOccur("plain text")); // true false
 * console.log("a [MASK] [M]".match(added.pattern!), added.specialIds.has(103)); // [ "[MASK]", "[M]" ] true
 * ```
 * @module
 */
import type { AddedToken } from "./config.ts";

/** The added tokens of a tokenizer, as the encoders look for them. */
export class AddedTokens {
  /** Every added token, longest first (global); null when there is none. */
  readonly pattern: RegExp | null;
  /** The first characters of the added tokens: a text without any holds none. */
  readonly firstChars: string;
  /** Id of each added token's content. */
  readonly ids: Map<string, number>;
  /** Ids of the special added tokens (what `decode` skips when asked to). */
  readonly specialIds: Set<number>;

  constructor(tokens: readonly AddedToken[]) {
    const added = [...tokens].filter((a) => a.content.length > 0)
      .sort((a, b) => b.content.length - a.content.length);
    this.pattern = added.length
      ? new RegExp(
        added.map((a) => a.content.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"),
        "g",
      )
      : null;
    this.firstChars = [...new Set(added.map((a) => a.content[0]))].join("");
    this.ids = new Map(added.map((a) => [a.content, a.id]));
    this.specialIds = new Set(tokens.filter((a) => a.special).map((a) => a.id));
  }

  /** Whether `text` may hold an added token (false: it holds none). */
  mayOccur(text: string): boolean {
    return this.pattern !== null && hasAny(text, this.firstChars);
  }
}

function hasAny(text: string, chars: string): boolean {
  for (let i = 0; i < chars.length; i++) if (text.includes(chars[i])) return true;
  return false;
}
