/**
 * Parity with Hugging Face `tokenizers` (native) on real text and generated adversarial
 * Unicode: ids, type ids, attention mask, special-tokens mask, word ids and offsets.
 * A mismatch names the input and both outputs.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { adversarialStrings, rng } from "./support/adversarial.ts";
import { checkAll, compare, type Expected, loadOracle, oracleEncode } from "./support/oracle.ts";
import { hasShared, shared } from "./support/paths.ts";
import { type BatchEncoding, type Encoding, Tokenizer } from "../src/tokenizer/tokenizer.ts";

const JSON_PATH = "models/all-MiniLM-L6-v2/tokenizer.json";
const ignore = !hasShared(JSON_PATH);
const tokenizerJson = ignore ? "" : Deno.readTextFileSync(shared(JSON_PATH));

/** Row `i` of a batch as an Encoding (for comparing with the oracle's padded rows). */
function row(b: BatchEncoding, i: number): Encoding {
  const w = b.sequenceLength, a = i * w, z = a + w;
  const num = (x: BigInt64Array) => Int32Array.from(x.subarray(a, z), Number);
  return {
    ids: num(b.inputIds),
    typeIds: num(b.tokenTypeIds),
    attentionMask: num(b.attentionMask),
    specialTokensMask: b.specialTokensMask.subarray(a, z),
    wordIds: b.wordIds.subarray(a, z),
    sequenceIds: b.sequenceIds.subarray(a, z),
    offsets: b.offsets.subarray(2 * a, 2 * z),
    tokens: [],
  };
}

Deno.test({
  name: "parity: every line of big.txt",
  ignore: ignore || !hasShared("corpus/big.txt"),
  async fn() {
    const tok = await Tokenizer.fromTokenizerJson(tokenizerJson);
    const lines = Deno.readTextFileSync(shared("corpus/big.txt")).split("\n");
    assert(lines.length > 46000);
    await checkAll(tok, tokenizerJson, lines, "big.txt");
  },
});

Deno.test({
  name: "parity: 100,000 generated adversarial strings",
  ignore,
  async fn() {
    const tok = await Tokenizer.fromTokenizerJson(tokenizerJson);
    const pieces = tok.config.vocab.filter((t) => !/^\[.*\]$/.test(t));
    const inputs = adversarialStrings(100_000, 20261124, pieces);
    await checkAll(tok, tokenizerJson, inputs, "adversarial");
  },
});

Deno.test({
  name: "parity: every Unicode code point, alone and inside a word",
  ignore,
  async fn() {
    const tok = await Tokenizer.fromTokenizerJson(tokenizerJson);
    const inputs: string[] = [];
    for (let base = 0; base < 0x110000; base += 64) {
      let s = "";
      for (let cp = base; cp < base + 64; cp++) {
        const c = String.fromCodePoint(cp); // lone surrogates included on purpose
        s += `a${c}b ${c} `;
      }
      inputs.push(s);
    }
    await checkAll(tok, tokenizerJson, inputs, "code points");
  },
});

/** tokenizer.json with other normalizer options (cased, accents kept, …). */
function variant(options: Record<string, unknown>): string {
  const j = JSON.parse(tokenizerJson);
  Object.assign(j.normalizer, options);
  return JSON.stringify(j);
}

/** The BertNormalizer settings besides the shipped one that parity is checked under. */
const NORMALIZER_VARIANTS = [
  { lowercase: false, strip_accents: null },
  { lowercase: false, strip_accents: true },
  { lowercase: true, strip_accents: false },
  { clean_text: false, handle_chinese_chars: false },
];

for (const options of NORMALIZER_VARIANTS) {
  Deno.test({
    name: `parity: normalizer ${JSON.stringify(options)} on 20,000 adversarial strings`,
    ignore,
    async fn() {
      const json = variant(options);
      const tok = await Tokenizer.fromTokenizerJson(json);
      const pieces = tok.config.vocab.filter((t) => !/^\[.*\]$/.test(t));
      const inputs = adversarialStrings(20_000, 7, pieces);
      inputs.push("Héllo WÖRLD İstanbul ΣΑΣ ﬁ 東京 한국어", "Ǆ ǅ ǆ ẞ ß");
      await checkAll(tok, json, inputs, JSON.stringify(options));
    },
  });
}

Deno.test({
  name:
    "parity: Latin letters U+0080..U+02FF (the matcher's Latin table) followed by combining marks, under five normalizer settings",
  ignore,
  async fn() {
    // every Latin code point, alone, inside words, and followed by one or two combining
    // marks (U+0300..U+036F, and U+1D165 — a mark that stays), mixed with ASCII
    const r = rng(31);
    const pick = (from: number, to: number) => from + Math.floor(r() * (to - from));
    const inputs: string[] = [];
    for (let cp = 0x80; cp < 0x300; cp++) {
      const c = String.fromCodePoint(cp);
      inputs.push(c, `caf${c}`, `${c}\u0301x`, `a${c}\u0323\u0301 ${c}${c}`);
    }
    for (let i = 0; i < 4000; i++) {
      let s = "";
      for (let k = pick(1, 12); k > 0; k--) {
        const roll = r();
        s += roll < 0.45
          ? String.fromCodePoint(pick(0x80, 0x300))
          : roll < 0.7
          ? String.fromCodePoint(pick(0x300, 0x370))
          : roll < 0.75
          ? "\u{1D165}"
          : roll < 0.9
          ? String.fromCodePoint(pick(0x61, 0x7b))
          : " ";
      }
      inputs.push(s);
    }
    let compared = 0;
    for (const options of [{}, ...NORMALIZER_VARIANTS]) {
      const json = variant(options);
      const tok = await Tokenizer.fromTokenizerJson(json);
      compared += await checkAll(tok, json, inputs, `Latin ${JSON.stringify(options)}`);
    }
    assert(compared >= 5 * inputs.length, `${compared} compared`);
  },
});

Deno.test({
  name:
    "parity: pairs with truncation strategies, pair by pair (same result or the same refusal), batch padding and pad_to_multiple_of",
  ignore,
  async fn() {
    const tok = await Tokenizer.fromTokenizerJson(tokenizerJson);
    const pieces = tok.config.vocab.filter((t) => !/^\[.*\]$/.test(t));
    const texts = adversarialStrings(4000, 99, pieces);
    const r = rng(5);
    const pick = () => texts[Math.floor(r() * texts.length)];
    const pairs: [string, string][] = [];
    for (let i = 0; i < 1000; i++) pairs.push([pick(), pick()]);
    // pairs whose other side is one short word, so that only_first / only_second can cut
    // the long side even at max length 5 (HF refuses when the side to cut is too short)
    const short = ["a", "ok", "x", "word", "é"];
    for (let i = 0; i < 100; i++) {
      pairs.push([pick() + " " + pick(), short[i % short.length]]);
      pairs.push([short[i % short.length], pick() + " " + pick()]);
    }
    const strategies = [
      ["longest_first", "LongestFirst"],
      ["only_first", "OnlyFirst"],
      ["only_second", "OnlySecond"],
    ] as const;
    const counts: Record<string, { compared: number; refused: number }> = {};
    for (const maxLength of [5, 8, 16, 64]) {
      for (const [ours, theirs] of strategies) {
        const oracle = loadOracle(tokenizerJson);
        // deno-lint-ignore no-explicit-any
        oracle.setTruncation(maxLength, { strategy: theirs as any });
        oracle.setPadding({ padToMultipleOf: 8 });
        const options = {
          maxLength,
          truncation: ours,
          padding: "longest",
          padToMultipleOf: 8,
        } as const;
        const label = `maxLength ${maxLength} ${ours}`;
        const tally = counts[label] = { compared: 0, refused: 0 };
        const accepted: [string, string][] = [];
        const singles: Encoding[] = [];
        for (const [i, pair] of pairs.entries()) {
          let expected: Expected | null = null, theirError = "";
          try {
            [expected] = await oracleEncode(oracle, [pair]);
          } catch (e) {
            theirError = String(e);
          }
          let mine: Encoding | null = null, ourError = "";
          try {
            mine = tok.encode(pair, options);
          } catch (e) {
            ourError = String(e);
          }
          const where = `${label} pair ${i} ${JSON.stringify(pair)}`;
          assertEquals(!!ourError, !!theirError, `${where}: ours "${ourError}" / "${theirError}"`);
          if (ourError) {
            // the same refusal: a truncation that cannot be done, named as such
            assert(/truncat/i.test(theirError) && /truncat/i.test(ourError), where);
            tally.refused++;
            continue;
          }
          const report = compare(pair, mine!, expected!, (ids) => tok.convertIdsToTokens(ids));
          assert(report === null, `${where}\n${report}`);
          accepted.push(pair);
          singles.push(mine!);
          tally.compared++;
        }
        assertEquals(tally.compared + tally.refused, pairs.length, label);
        // every strategy and length compares real encodings, not only refusals
        assert(tally.compared >= 150, `${label}: only ${tally.compared} pairs compared`);
        // A batch holds the same rows, padded to the widest.
        for (let i = 0; i < accepted.length; i += 50) {
          const chunk = accepted.slice(i, i + 50);
          const batch = tok.encodeBatch(chunk, options);
          chunk.forEach((_, k) => {
            const row_ = row(batch, k), s = singles[i + k], n = s.ids.length;
            const where = `${label} batch row ${i + k}`;
            assertEquals(Array.from(row_.ids.subarray(0, n)), Array.from(s.ids), where);
            assertEquals(Array.from(row_.offsets.subarray(0, 2 * n)), Array.from(s.offsets), where);
            assertEquals(Array.from(row_.wordIds.subarray(0, n)), Array.from(s.wordIds), where);
            assert(row_.attentionMask.subarray(n).every((m) => m === 0), where);
            assert(row_.specialTokensMask.subarray(n).every((m) => m === 1), where);
          });
        }
      }
    }
    const total = Object.values(counts).reduce((a, c) => a + c.compared, 0);
    console.log(`pairs compared per setting: ${JSON.stringify(counts)}; ${total} in all`);
    assert(total >= 6000, `${total} pairs compared in all`);
  },
});

Deno.test({
  name: "parity: fixed max_length padding and truncation of single texts in a batch",
  ignore,
  async fn() {
    const tok = await Tokenizer.fromTokenizerJson(tokenizerJson);
    const lines = hasShared("corpus/big.txt")
      ? Deno.readTextFileSync(shared("corpus/big.txt")).split("\n").slice(0, 3000)
      : ["I love Paris."];
    for (const maxLength of [7, 16, 128]) {
      const oracle = loadOracle(tokenizerJson);
      oracle.setTruncation(maxLength);
      oracle.setPadding({ maxLength });
      const expected = await oracleEncode(oracle, lines);
      const batch = tok.encodeBatch(lines, { maxLength, truncation: true, padding: "max_length" });
      assertEquals(batch.sequenceLength, maxLength);
      lines.forEach((line, k) => {
        const report = compare(
          line,
          row(batch, k),
          expected[k],
          (ids) => tok.convertIdsToTokens(ids),
        );
        assert(report === null, report ?? "");
      });
    }
  },
});

Deno.test({
  name: "parity: decode with and without special tokens",
  ignore,
  async fn() {
    const tok = await Tokenizer.fromTokenizerJson(tokenizerJson);
    const oracle = loadOracle(tokenizerJson);
    const pieces = tok.config.vocab.filter((t) => !/^\[.*\]$/.test(t));
    const inputs = [
      "I love Paris. Don't you? I'm sure we're fine, it's ok!",
      "hello [MASK] world",
      ...adversarialStrings(2000, 3, pieces),
    ];
    for (const text of inputs) {
      const ids = Array.from(tok.encode(text).ids);
      for (const skip of [false, true]) {
        assertEquals(
          tok.decode(ids, { skipSpecialTokens: skip }),
          await oracle.decode(ids, skip),
          `decode ${JSON.stringify(text)} skip=${skip}`,
        );
      }
    }
  },
});

Deno.test({
  name: "loaders agree: vocab.txt, tokenizer.json and the precompiled form",
  ignore: ignore || !hasShared("models/bert-base-uncased/vocab.txt"),
  async fn() {
    const fromJson = await Tokenizer.fromTokenizerJson(tokenizerJson);
    const fromVocab = await Tokenizer.fromVocab(
      Deno.readTextFileSync(shared("models/bert-base-uncased/vocab.txt")),
    );
    const fromBytes = await Tokenizer.fromBytes(fromJson.toBytes());
    const pieces = fromJson.config.vocab.filter((t) => !/^\[.*\]$/.test(t));
    for (const text of adversarialStrings(20_000, 11, pieces)) {
      const a = fromJson.encode(text);
      for (const other of [fromVocab, fromBytes]) {
        const b = other.encode(text);
        assertEquals(Array.from(b.ids), Array.from(a.ids), JSON.stringify(text));
        assertEquals(Array.from(b.offsets), Array.from(a.offsets), JSON.stringify(text));
        assertEquals(Array.from(b.wordIds), Array.from(a.wordIds), JSON.stringify(text));
      }
    }
  },
});
