/**
 * Generates `wasm/assembly/tables.ts`: the Unicode tables of the WordPiece
 * tokenizer, from Unicode data rather than hand-typed ranges.
 *
 * Two sources, chosen to give the ids Hugging Face `tokenizers` gives:
 * - General categories (punctuation `P*`, "other" `Cc|Cf|Co|Cs`, non-spacing
 *   marks `Mn`) come from the Unicode 8.0 character database (npm
 *   `@unicode/unicode-8.0.0`). HF's BertNormalizer/BertPreTokenizer take these
 *   from the `unicode_categories` crate, whose tables are frozen at Unicode 8.0
 *   (U+2E42 splits words there, U+2E43 from Unicode 9.0 does not).
 * - Canonical decomposition (NFD) and canonical combining classes come from the
 *   platform (`String.prototype.normalize("NFD")`), restricted to the characters
 *   assigned in Unicode 9.0 (npm `@unicode/unicode-9.0.0`): HF's
 *   `unicode-normalization-alignments` carries Unicode 9.0 normalization data, and
 *   Unicode's stability policy keeps decompositions and classes of assigned
 *   characters fixed, so "platform data ∩ assigned in 9.0" is exactly that data.
 * - White_Space and lowercase come from the platform (`\p{White_Space}`,
 *   `toLowerCase`), as HF takes them from Rust's std, which tracks current Unicode.
 *
 * @example
 * ```sh
 * deno run --allow-read --allow-write wasm/gen_tables.ts wasm/assembly/tables.ts
 * ```
 * @module
 */
import punctuation from "@unicode/unicode-8.0.0/General_Category/Punctuation/code-points.mjs";
import control from "@unicode/unicode-8.0.0/General_Category/Control/code-points.mjs";
import format from "@unicode/unicode-8.0.0/General_Category/Format/code-points.mjs";
import privateUse from "@unicode/unicode-8.0.0/General_Category/Private_Use/code-points.mjs";
import surrogate from "@unicode/unicode-8.0.0/General_Category/Surrogate/code-points.mjs";
import nonspacing from "@unicode/unicode-8.0.0/General_Category/Nonspacing_Mark/code-points.mjs";
import unassigned9 from "@unicode/unicode-9.0.0/General_Category/Unassigned/code-points.mjs";

const MAX = 0x110000;
/** Flag bits; the wasm modules import them from the generated tables.ts. */
export const F_DROP = 1,
  F_WS = 2,
  F_PUNCT = 4,
  F_CJK = 8,
  F_MN = 16,
  F_DECOMP = 32,
  F_LOWER = 64,
  F_NONSTARTER = 128;

/** HF `is_chinese_char` ranges (the CJK Unified Ideographs blocks BERT spaces out). */
const CJK: [number, number][] = [
  [0x4E00, 0x9FFF],
  [0x3400, 0x4DBF],
  [0x20000, 0x2A6DF],
  [0x2A700, 0x2B73F],
  [0x2B740, 0x2B81F],
  [0x2B920, 0x2CEAF],
  [0xF900, 0xFAFF],
  [0x2F800, 0x2FA1F],
];

const str = (cp: number) => String.fromCodePoint(cp);
const cps = (s: string) => Array.from(s, (c) => c.codePointAt(0)!);
const isSurrogate = (cp: number) => cp >= 0xD800 && cp <= 0xDFFF;

/** Canonical combining class order: x sorts after y in NFD iff ccc(x) > ccc(y) > 0. */
function nonStarter(cp: number): boolean {
  if (isSurrogate(cp)) return false;
  const c = str(cp);
  if (c.normalize("NFD") !== c) return false; // decomposable: handled via its parts
  // U+0334 has ccc 1 (lowest non-zero), U+0301 has ccc 230.
  return (c + "\u0334").normalize("NFD") === "\u0334" + c ||
    ("\u0301" + c).normalize("NFD") === c + "\u0301";
}

export function generate(): string {
  const flags = new Uint8Array(MAX);
  const set = (list: Iterable<number>, f: number) => {
    for (const cp of list) flags[cp] |= f;
  };
  set(control, F_DROP);
  set(format, F_DROP);
  set(privateUse, F_DROP);
  set(surrogate, F_DROP);
  flags[0] |= F_DROP;
  flags[0xFFFD] |= F_DROP;
  for (const c of [9, 10, 13]) flags[c] &= ~F_DROP; // HF counts \t \n \r as whitespace
  set(punctuation, F_PUNCT);
  for (let cp = 0x21; cp < 0x7F; cp++) {
    if (/[!-\/:-@\[-`{-~]/.test(str(cp))) flags[cp] |= F_PUNCT; // is_ascii_punctuation
  }
  set(nonspacing, F_MN);
  for (const [a, b] of CJK) for (let cp = a; cp <= b; cp++) flags[cp] |= F_CJK;

  const ws = /^\p{White_Space}$/u;
  const normalizes = new Uint8Array(MAX).fill(1); // assigned in Unicode 9.0
  for (const cp of unassigned9) normalizes[cp] = 0;
  const decomp: [number, number[]][] = [];
  const lower: [number, number[]][] = [];
  const nonStarters: number[] = [];
  const hangul = { sBase: 0xAC00, count: 0 };
  for (let cp = 0; cp < MAX; cp++) {
    if (isSurrogate(cp)) continue;
    const c = str(cp);
    if (ws.test(c)) flags[cp] |= F_WS;
    const d = c.normalize("NFD");
    if (d !== c && normalizes[cp]) {
      flags[cp] |= F_DECOMP;
      if (cp >= 0xAC00 && cp <= 0xD7A3) hangul.count++;
      else decomp.push([cp, cps(d)]);
    }
    const l = c.toLowerCase();
    if (l !== c) {
      flags[cp] |= F_LOWER;
      lower.push([cp, cps(l)]);
    }
    if (normalizes[cp] && nonStarter(cp)) {
      flags[cp] |= F_NONSTARTER;
      nonStarters.push(cp);
    }
  }
  // Hangul syllables decompose algorithmically; check the platform agrees.
  checkHangul();
  // Rank non-starters by combining class, using NFD's reordering as comparator.
  const ranks = rankNonStarters(nonStarters);

  // Two-level flags table: 128-entry blocks, deduplicated.
  const BLOCK = 128;
  const blockIndex = new Map<string, number>();
  const stage1 = new Uint16Array(MAX / BLOCK);
  const blocks: number[] = [];
  for (let b = 0; b < MAX / BLOCK; b++) {
    const block = flags.subarray(b * BLOCK, (b + 1) * BLOCK);
    const key = block.join(",");
    let idx = blockIndex.get(key);
    if (idx === undefined) {
      idx = blockIndex.size;
      blockIndex.set(key, idx);
      blocks.push(...block);
    }
    stage1[b] = idx;
  }

  const pool = (entries: [number, number[]][]) => {
    const keys: number[] = [], starts: number[] = [], data: number[] = [];
    for (const [cp, seq] of entries) {
      keys.push(cp);
      starts.push(data.length);
      data.push(...seq);
    }
    starts.push(data.length);
    return { keys, starts, data };
  };
  const d = pool(decomp), l = pool(lower);
  const arr = (name: string, type: string, values: ArrayLike<number>) =>
    `export const ${name}: StaticArray<${type}> = [${Array.from(values).join(",")}];\n`;
  return [
    "// Generated by wasm/gen_tables.ts from Unicode data. Do not edit.\n",
    `// Platform Unicode: ${
      JSON.stringify({ v8: Deno.version.v8 })
    }; categories: Unicode 8.0.0; NFD: assigned in 9.0.0\n`,
    `export const BLOCK_SHIFT: u32 = 7;\nexport const BLOCK_MASK: u32 = ${BLOCK - 1};\n`,
    `export const F_DROP: u8 = ${F_DROP};\nexport const F_WS: u8 = ${F_WS};\nexport const F_PUNCT: u8 = ${F_PUNCT};\n`,
    `export const F_CJK: u8 = ${F_CJK};\nexport const F_MN: u8 = ${F_MN};\nexport const F_DECOMP: u8 = ${F_DECOMP};\n`,
    `export const F_LOWER: u8 = ${F_LOWER};\nexport const F_NONSTARTER: u8 = ${F_NONSTARTER};\n`,
    arr("STAGE1", "u16", stage1),
    arr("STAGE2", "u8", blocks),
    arr("DECOMP_KEYS", "u32", d.keys),
    arr("DECOMP_STARTS", "u32", d.starts),
    arr("DECOMP_DATA", "u32", d.data),
    arr("LOWER_KEYS", "u32", l.keys),
    arr("LOWER_STARTS", "u32", l.starts),
    arr("LOWER_DATA", "u32", l.data),
    arr("CCC_KEYS", "u32", nonStarters),
    arr("CCC_RANKS", "u8", nonStarters.map((cp) => ranks.get(cp)!)),
  ].join("");
}

function checkHangul(): void {
  const S = 0xAC00, L = 0x1100, V = 0x1161, T = 0x11A7, VN = 21, TN = 28;
  for (let s = 0; s < 11172; s++) {
    const l = L + Math.floor(s / (VN * TN)),
      v = V + Math.floor((s % (VN * TN)) / TN),
      t = T + (s % TN);
    const expect = t === T ? [l, v] : [l, v, t];
    const got = cps(str(S + s).normalize("NFD"));
    if (got.join() !== expect.join()) {
      throw new Error(`Hangul U+${(S + s).toString(16)} decomposes unexpectedly: ${got}`);
    }
  }
}

function rankNonStarters(list: number[]): Map<number, number> {
  // after(x, y): NFD moves x behind y, i.e. ccc(x) > ccc(y).
  const after = (x: number, y: number) => (str(x) + str(y)).normalize("NFD") !== str(x) + str(y);
  const sorted = [...list].sort((x, y) => (after(x, y) ? 1 : after(y, x) ? -1 : 0));
  const ranks = new Map<number, number>();
  let rank = 1;
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && after(sorted[i], sorted[i - 1])) rank++;
    ranks.set(sorted[i], rank);
  }
  if (rank > 255) throw new Error("too many combining classes");
  return ranks;
}

if (import.meta.main) {
  const out = Deno.args[0] ?? new URL("./assembly/tables.ts", import.meta.url);
  Deno.writeTextFileSync(out, generate());
}
