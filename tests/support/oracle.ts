/**
 * The parity oracle: Hugging Face `tokenizers` (native binding) and a comparison of its
 * encodings with ours that names the input and both outputs on a mismatch.
 *
 * @example
 * ```ts
 * import { loadOracle } from "./oracle.ts";
 * const oracle = loadOracle(await Deno.readTextFile("../shared/models/all-MiniLM-L6-v2/tokenizer.json"));
 * console.log((await oracle.encode("I love Paris.")).getIds()); // [101, 1045, 2293, 3000, 1012, 102]
 * ```
 * @module
 */
import { Tokenizer as HfTokenizer } from "tokenizers";
import type { Encoding, TextInput, Tokenizer } from "../../src/tokenizer/tokenizer.ts";

/** A loaded oracle with padding and truncation off. */
export function loadOracle(tokenizerJson: string): HfTokenizer {
  const t = HfTokenizer.fromString(tokenizerJson);
  t.disablePadding();
  t.disableTruncation();
  return t;
}

/** Plain arrays of one oracle encoding, offsets converted from code points to UTF-16. */
export interface Expected {
  ids: number[];
  typeIds: number[];
  mask: number[];
  special: number[];
  wordIds: number[];
  offsets: number[];
}

/** Code point index → UTF-16 index table of a string (one entry past the end). */
export function cpToUtf16(s: string): Int32Array {
  const map = new Int32Array(s.length + 1);
  let cp = 0;
  for (let i = 0; i < s.length; i++) {
    map[cp++] = i;
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) i++;
    }
  }
  map[cp] = s.length;
  return map.subarray(0, cp + 1);
}

/** Encodes with the oracle (batch) and converts to plain arrays. */
export async function oracleEncode(
  oracle: HfTokenizer,
  inputs: TextInput[],
): Promise<Expected[]> {
  // The binding's encodeBatch takes no pairs, so pairs are encoded one by one (no
  // cross-row padding then: each pair is padded on its own).
  const encs = inputs.every((x) => typeof x === "string")
    ? await oracle.encodeBatch(inputs as string[])
    : await Promise.all(
      inputs.map((x) => typeof x === "string" ? oracle.encode(x) : oracle.encode(x[0], x[1])),
    );
  return encs.map((e, i) => {
    const input = inputs[i];
    const seq = e.getSequenceIds();
    const maps = typeof input === "string" ? [cpToUtf16(input)] : input.map(cpToUtf16);
    const offsets: number[] = [];
    e.getOffsets().forEach(([s, t]: number[], k: number) => {
      const m = maps[seq[k] ?? 0];
      offsets.push(seq[k] === null || seq[k] === undefined ? s : m[s], seq[k] == null ? t : m[t]);
    });
    return {
      ids: e.getIds(),
      typeIds: e.getTypeIds(),
      mask: e.getAttentionMask(),
      special: e.getSpecialTokensMask(),
      wordIds: e.getWordIds().map((w) => w ?? -1),
      offsets,
    };
  });
}

/** Compares; returns a readable report or null when identical. */
export function compare(
  input: TextInput,
  ours: Encoding,
  expected: Expected,
  tokens: (ids: ArrayLike<number>) => string[],
): string | null {
  const fields: [string, ArrayLike<number>, number[]][] = [
    ["ids", ours.ids, expected.ids],
    ["typeIds", ours.typeIds, expected.typeIds],
    ["attentionMask", ours.attentionMask, expected.mask],
    ["specialTokensMask", ours.specialTokensMask, expected.special],
    ["wordIds", ours.wordIds, expected.wordIds],
    ["offsets", ours.offsets, expected.offsets],
  ];
  for (const [name, a, b] of fields) {
    if (a.length !== b.length || Array.prototype.some.call(a, (x, i) => x !== b[i])) {
      return [
        `mismatch in ${name} for input ${JSON.stringify(input)}`,
        `  ours:   ${JSON.stringify(Array.from(a))}`,
        `  oracle: ${JSON.stringify(b)}`,
        `  our tokens:    ${JSON.stringify(tokens(ours.ids))}`,
        `  oracle tokens: ${JSON.stringify(tokens(expected.ids))}`,
      ].join("\n");
    }
  }
  return null;
}

/**
 * Checks every input against the oracle (in chunks of 5,000); fails with the first
 * mismatches printed in full. Returns how many inputs were compared.
 */
export async function checkAll(
  tok: Tokenizer,
  oracleJson: string,
  inputs: TextInput[],
  label: string,
): Promise<number> {
  const oracle = loadOracle(oracleJson);
  const failures: string[] = [];
  let compared = 0;
  for (let i = 0; i < inputs.length; i += 5000) {
    const chunk = inputs.slice(i, i + 5000);
    const expected = await oracleEncode(oracle, chunk);
    chunk.forEach((input, k) => {
      const report = compare(
        input,
        tok.encode(input),
        expected[k],
        (ids) => tok.convertIdsToTokens(ids),
      );
      if (report) failures.push(report);
      compared++;
    });
  }
  if (failures.length) {
    throw new Error(
      `${label}: ${failures.length} of ${inputs.length} inputs differ\n${
        failures.slice(0, 5).join("\n")
      }`,
    );
  }
  return compared;
}
