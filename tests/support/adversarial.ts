/**
 * Seeded generator of adversarial inputs for tokenizer parity: every script, combining
 * marks (including the rare non-Mn non-starters that NFD reorders), emoji and ZWJ
 * sequences, lone surrogates, control and format characters, exotic whitespace, words
 * built from vocabulary pieces (to stress failure links), words around the 100-char
 * limit, added tokens like `[MASK]`, and empty or whitespace-only strings.
 *
 * @example
 * ```ts
 * import { adversarialStrings } from "./adversarial.ts";
 * const xs = adversarialStrings(10, 42, ["hello", "##ing"]);
 * console.log(xs.length); // 10
 * ```
 * @module
 */
import { rng } from "../../src/random.ts";

export { rng };

const ranges: [number, number][] = [
  [0x20, 0x7e],
  [0x0, 0x1f],
  [0x7f, 0xa0],
  [0xa0, 0x24f],
  [0x250, 0x2ff],
  [0x300, 0x36f],
  [0x370, 0x3ff],
  [0x400, 0x52f],
  [0x530, 0x58f],
  [0x590, 0x5ff],
  [0x600, 0x6ff],
  [0x900, 0x97f],
  [0xe00, 0xe7f],
  [0x1100, 0x11ff],
  [0x1ab0, 0x1aff],
  [0x1dc0, 0x1dff],
  [0x1e00, 0x1fff],
  [0x2000, 0x206f],
  [0x2070, 0x218f],
  [0x2190, 0x23ff],
  [0x2e00, 0x2e7f],
  [0x3000, 0x303f],
  [0x3040, 0x30ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xd800, 0xdfff],
  [0xe000, 0xf8ff],
  [0xf900, 0xfaff],
  [0xfb00, 0xfb4f],
  [0xfe00, 0xfe6f],
  [0xff00, 0xffef],
  [0xfff0, 0xffff],
  [0x10000, 0x1ffff],
  [0x1d100, 0x1d1ff],
  [0x1f000, 0x1faff],
  [0x20000, 0x2fa1f],
  [0xe0000, 0xe01ef],
  [0xf0000, 0x10ffff],
];
const special = [
  "\u0301",
  "\u0308",
  "\u0323",
  "\u0345",
  "\u0334",
  "\u05b0",
  "\u0e3a",
  "\u3099",
  "\u1715",
  "\u1734",
  "\u1b44",
  "\u302e",
  "\u302f",
  "\ua953",
  "\u{1d165}",
  "\u{1d166}",
  "\u{1d16d}",
  "\u{1d16e}",
  "\u{1d172}",
  "\u{16ff0}",
  "\u200b",
  "\u200c",
  "\u200d",
  "\u200e",
  "\ufeff",
  "\u2028",
  "\u2029",
  "\u00a0",
  "\u3000",
  "\u1680",
  "\u180e",
  "\u0085",
  "\u000b",
  "\u000c",
  "\t",
  "\n",
  "\r",
  " ",
  "\u0000",
  "\ufffd",
  "\ud800",
  "\udfff",
  "\u0130",
  "\u03a3",
  "\u1e9e",
  "\ufb01",
  "\u01c5",
  "\u2126",
  "\u212b",
  "\u0344",
  "\u0f73",
  "\u0f75",
  "\u0f81",
  "\u{1f468}\u200d\u{1f469}\u200d\u{1f467}",
  "\u{1f44d}\u{1f3fd}",
  "\u{1f1eb}\u{1f1f7}",
  "\u2e42",
  "\u2e43",
  "\u2e52",
  "[MASK]",
  "[CLS]",
  "[SEP]",
  "[PAD]",
  "[UNK]",
  "[mask]",
  "##",
  "#",
  "...",
  "'",
  "don't",
  "\u0378",
  "\u{1fae8}",
  "\u{e0041}",
];

/** `count` strings from `seed`; `pieces` are vocabulary tokens to build words from. */
export function adversarialStrings(count: number, seed: number, pieces: string[]): string[] {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)];
  const cp = () => {
    const [a, b] = pick(ranges);
    return String.fromCodePoint(a + int(b - a + 1));
  };
  const word = () => {
    // vocabulary pieces glued together: a real prefix, then continuations or raw pieces
    let w = "";
    const n = 1 + int(5);
    for (let i = 0; i < n; i++) {
      let p = pick(pieces);
      if (p.startsWith("##") && (i === 0 || r() < 0.3)) p = p.slice(2);
      else if (p.startsWith("##")) p = p.slice(2);
      w += r() < 0.1 ? p.toUpperCase() : p;
    }
    return w;
  };
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    const kind = int(10);
    if (kind === 0) {
      out.push(pick(["", " ", "\t\n ", "\u3000\u00a0", "\u200b", "\u0301", "\u0000"]));
      continue;
    }
    if (kind === 1) { // long words around the limit
      const len = pick([99, 100, 101, 150, 300, 1000]);
      const c = pick(["a", "é", "ab", "x\u0301", "\u{1d400}"]);
      out.push(c.repeat(Math.ceil(len / c.length)).slice(0, len) + (r() < 0.5 ? " end" : ""));
      continue;
    }
    let s = "";
    const parts = 1 + int(kind < 5 ? 12 : 30);
    for (let i = 0; i < parts; i++) {
      const what = int(10);
      if (what < 4) s += word();
      else if (what < 6) s += cp();
      else if (what < 8) s += pick(special);
      else s += " ";
    }
    out.push(s);
  }
  return out;
}
