/**
 * Specification tables on tiny vocabularies, each input checked against HF `tokenizers`:
 * the LinMaxMatch edge cases a real vocabulary rarely reaches (`#`, `##`, `###` as
 * tokens, an empty suffix token, words of exactly / one past `max_input_chars_per_word`,
 * unknown-token fallbacks, suffix-only vocabularies, a vocabulary without `[UNK]`), then
 * a cased vocabulary (no lowercasing, accents kept) and a multilingual one (CJK
 * ideographs, accented letters), each compared with the oracle on every line of big.txt
 * and on generated adversarial strings. The trie builder sees every vocabulary fresh, so
 * a failure link or pop that only these shapes produce shows up here.
 */
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { InputError } from "../src/errors.ts";
import { adversarialStrings } from "./support/adversarial.ts";
import { checkAll, compare, loadOracle, oracleEncode } from "./support/oracle.ts";
import { hasShared, shared } from "./support/paths.ts";
import { Tokenizer } from "../src/tokenizer/tokenizer.ts";

const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/** A BERT tokenizer.json over `tokens` (specials first unless `withUnk` is false). */
function tinyTokenizerJson(
  tokens: string[],
  options: {
    withUnk?: boolean;
    lowercase?: boolean;
    stripAccents?: boolean | null;
    maxChars?: number;
  } = {},
): string {
  const specials = options.withUnk === false ? SPECIALS.filter((s) => s !== "[UNK]") : SPECIALS;
  const all = [...specials, ...tokens.filter((t) => !specials.includes(t))];
  const vocab = Object.fromEntries(all.map((t, i) => [t, i]));
  const id = (t: string) => vocab[t];
  return JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specials.map((t) => ({
      id: id(t),
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: options.stripAccents ?? null,
      lowercase: options.lowercase ?? true,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [id("[CLS]")], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [id("[SEP]")], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: options.maxChars ?? 100,
      vocab,
    },
  });
}

/**
 * Ours and the oracle on every input: the same encoding, or both refuse. Returns how many
 * inputs were compared and how many both refused.
 */
async function checkTable(json: string, inputs: string[], label: string) {
  const oracle = loadOracle(json);
  let ours: Tokenizer | null = null, loadError = "";
  try {
    ours = await Tokenizer.fromTokenizerJson(json);
  } catch (e) {
    loadError = String(e);
  }
  let compared = 0, refused = 0;
  for (const input of inputs) {
    let expected = null, theirError = "";
    try {
      [expected] = await oracleEncode(oracle, [input]);
    } catch (e) {
      theirError = String(e);
    }
    let mine = null, ourError = loadError;
    if (ours) {
      try {
        mine = ours.encode(input);
      } catch (e) {
        ourError = String(e);
      }
    }
    const where = `${label}: ${JSON.stringify(input)}`;
    assertEquals(!!ourError, !!theirError, `${where}: ours "${ourError}" / theirs "${theirError}"`);
    if (ourError) {
      refused++;
      continue;
    }
    const report = compare(input, mine!, expected!, (ids) => ours!.convertIdsToTokens(ids));
    assert(report === null, `${where}\n${report}`);
    compared++;
  }
  return { compared, refused };
}

const hundred = "a".repeat(100);
const SPEC: {
  name: string;
  tokens: string[];
  options?: Parameters<typeof tinyTokenizerJson>[1];
  inputs: string[];
  /** inputs both must refuse (no [UNK] to fall back on) */
  refusals?: number;
}[] = [
  {
    name: "hash marks as tokens: #, ##, ###, ##### and suffixes of them",
    tokens: ["#", "##", "###", "####", "##.", "a", "##a", "b", "##b", "ab", "##ab"],
    inputs: [
      "#",
      "##",
      "###",
      "####",
      "#####",
      "#a#",
      "a##b",
      "ab#ab",
      "##a",
      "a ## b",
      "ab##",
      "#.#",
      "aab",
      "abab",
      "ba",
    ],
  },
  {
    name: "an empty suffix token (## alone) and single-character pieces",
    tokens: ["##", "a", "b", "c", "##a", "##b", "##c", "abc", "##bc"],
    inputs: ["abc", "abcabc", "cab", "aaaa", "abcd", "a b c", "bcbc", "c", ""],
  },
  {
    name: "max_input_chars_per_word: exactly 100, 101, and with 5 as the limit",
    tokens: ["a", "##a", "aa", "##aa", "b"],
    inputs: [hundred, hundred + "a", `${hundred} b`, `b ${hundred}a b`, "a".repeat(99)],
  },
  {
    name: "max_input_chars_per_word 5 counts characters, not bytes",
    tokens: ["a", "##a", "é", "##é", "##b", "b"],
    options: { maxChars: 5, lowercase: false },
    inputs: ["aaaaa", "aaaaaa", "ééééé", "éééééé", "aaaab", "aaaaab", "é".repeat(3) + "bb"],
  },
  {
    name: "unknown-token fallback: one unknown piece makes the whole word [UNK]",
    tokens: ["un", "##aff", "##able", "aff", "able", "##x"],
    inputs: ["unaffable", "unaffablez", "zunaffable", "affable able", "un aff able", "x", "unx"],
  },
  {
    name: "a suffix-only vocabulary: no word can start",
    tokens: ["##a", "##b", "##ab"],
    inputs: ["a", "ab", "ba b", "##a", ""],
  },
  {
    name: "a vocabulary without [UNK]: words it covers encode, others are refused alike",
    tokens: ["a", "##a", "b", "##b", "."],
    options: { withUnk: false },
    inputs: ["a", "ab ba", "a.", "ab", "c", "a c"],
    refusals: 2,
  },
  {
    name: "longest match first, with failure links across shared prefixes",
    tokens: ["abcd", "abc", "ab", "a", "##bcde", "##cd", "##d", "##e", "##de", "b", "##b", "##c"],
    inputs: ["abcde", "abcd", "abcdde", "abde", "abce", "aabcde", "abcdabcd", "bcde", "ab cd e"],
  },
];

for (const spec of SPEC) {
  Deno.test(`tiny vocabulary: ${spec.name}`, async () => {
    const json = tinyTokenizerJson(spec.tokens, spec.options);
    const { compared, refused } = await checkTable(json, spec.inputs, spec.name);
    assertEquals(compared + refused, spec.inputs.length);
    assertEquals(refused, spec.refusals ?? 0, "refusals");
  });
}

const BIG = "models/all-MiniLM-L6-v2/tokenizer.json";
const ignore = !hasShared(BIG) || !hasShared("corpus/big.txt");

/** The uncased vocabulary (no specials), for building larger variants. */
function baseVocab(): string[] {
  const j = JSON.parse(Deno.readTextFileSync(shared(BIG)));
  return Object.entries(j.model.vocab as Record<string, number>).sort((a, b) => a[1] - b[1])
    .map(([t]) => t).filter((t) => !SPECIALS.includes(t));
}

/** Every line of big.txt and 20,000 adversarial strings against the oracle. */
async function checkCorpora(json: string, label: string) {
  const tok = await Tokenizer.fromTokenizerJson(json);
  const lines = Deno.readTextFileSync(shared("corpus/big.txt")).split("\n");
  const pieces = tok.config.vocab.filter((t) => !/^\[.*\]$/.test(t));
  const inputs = [...lines, ...adversarialStrings(20_000, 4242, pieces)];
  const compared = await checkAll(tok, json, inputs, label);
  assertEquals(compared, inputs.length);
}

Deno.test({
  name:
    "cased vocabulary (bert-base-cased style: no lowercasing, accents kept) equals HF on big.txt and adversarial strings",
  ignore,
  async fn() {
    // the uncased pieces plus their capitalised and upper-case forms, and accented letters
    const base = baseVocab();
    const cased = new Set(base);
    for (const t of base) {
      const body = t.startsWith("##") ? t.slice(2) : t;
      const prefix = t.startsWith("##") ? "##" : "";
      if (!/^[a-z]/.test(body)) continue;
      cased.add(prefix + body[0].toUpperCase() + body.slice(1));
      if (body.length <= 4) cased.add(prefix + body.toUpperCase());
    }
    for (const c of "àáâäçèéêëìíîïñòóôöùúûüÀÁÂÄÇÈÉÊËÌÍÎÏÑÒÓÔÖÙÚÛÜß") {
      cased.add(c);
      cased.add(`##${c}`);
    }
    const json = tinyTokenizerJson([...cased], { lowercase: false, stripAccents: false });
    await checkCorpora(json, "cased");
  },
});

Deno.test({
  name:
    "multilingual vocabulary (CJK ideographs, accented letters, Cyrillic) equals HF on big.txt and adversarial strings",
  ignore,
  async fn() {
    const extra: string[] = [];
    for (let cp = 0x4e00; cp < 0x5200; cp++) extra.push(String.fromCodePoint(cp));
    for (let cp = 0x3040; cp < 0x30ff; cp++) {
      extra.push(String.fromCodePoint(cp), `##${String.fromCodePoint(cp)}`);
    }
    for (let cp = 0x430; cp < 0x450; cp++) {
      extra.push(String.fromCodePoint(cp), `##${String.fromCodePoint(cp)}`);
    }
    for (const c of "àáâäçèéêëìíîïñòóôöùúûüßøå") extra.push(c, `##${c}`);
    const json = tinyTokenizerJson([...baseVocab(), ...extra], { stripAccents: false });
    await checkCorpora(json, "multilingual");
  },
});

Deno.test("a vocabulary without [UNK] survives the precompiled form; the refusal names the input", async () => {
  const json = tinyTokenizerJson(["a", "##a", "b"], { withUnk: false });
  const tok = await Tokenizer.fromTokenizerJson(json);
  const again = await Tokenizer.fromBytes(tok.toBytes());
  for (const t of [tok, again]) {
    assertEquals(Array.from(t.encode("aa a").ids), [1, 4, 5, 4, 2]); // [CLS] a ##a a [SEP]
    const err = assertThrows(() => t.encode(["a", "a c"]), InputError);
    assertEquals(err.param, "text[1]");
  }
});
