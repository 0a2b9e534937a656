/**
 * Tokenizer behaviour: the "I love Paris." walkthrough, pairs, decode, typed errors for
 * bad input, corrupt precompiled bytes, and bounded memory over 1,000,000 encodes.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "./support/assert.ts";
import { adversarialStrings, rng } from "./support/adversarial.ts";
import { hasShared, shared } from "./support/paths.ts";
import { type BatchEncoding, Tokenizer } from "../src/tokenizer/tokenizer.ts";
import { InputError, InputTooLongError, TokenizerLoadError } from "../src/errors.ts";

const VOCAB = "models/bert-base-uncased/vocab.txt";
const ignore = !hasShared(VOCAB);
const vocabText = ignore ? "" : Deno.readTextFileSync(shared(VOCAB));
const bert = ignore ? null : await Tokenizer.fromVocab(vocabText);
const fixed7 = { padding: "max_length", maxLength: 7, truncation: true } as const;

Deno.test({
  name: "walkthrough: 'I love Paris' padded to 7",
  ignore,
  fn() {
    const enc = bert!.encode("I love Paris", fixed7);
    assertEquals(enc.tokens, ["[CLS]", "i", "love", "paris", "[SEP]", "[PAD]", "[PAD]"]);
    assertEquals(Array.from(enc.ids), [101, 1045, 2293, 3000, 102, 0, 0]);
    assertEquals(Array.from(enc.attentionMask), [1, 1, 1, 1, 1, 0, 0]);
    assertEquals(Array.from(enc.typeIds), [0, 0, 0, 0, 0, 0, 0]);
    assertEquals(Array.from(enc.wordIds), [-1, 0, 1, 2, -1, -1, -1]);
    assertEquals(Array.from(enc.offsets), [0, 0, 0, 1, 2, 6, 7, 12, 0, 0, 0, 0, 0, 0]);
  },
});

Deno.test({
  name: "walkthrough: 'I love Paris.' keeps the period as a token (as HF does)",
  ignore,
  fn() {
    const enc = bert!.encode("I love Paris.", fixed7);
    assertEquals(enc.tokens, ["[CLS]", "i", "love", "paris", ".", "[SEP]", "[PAD]"]);
    assertEquals(Array.from(enc.ids), [101, 1045, 2293, 3000, 1012, 102, 0]);
    assertEquals(Array.from(enc.attentionMask), [1, 1, 1, 1, 1, 1, 0]);
    const batch = bert!.encodeBatch(["I love Paris.", "I love Paris"], fixed7);
    assertEquals(batch.sequenceLength, 7);
    assertEquals(Array.from(batch.inputIds, Number), [
      ...[101, 1045, 2293, 3000, 1012, 102, 0],
      ...[101, 1045, 2293, 3000, 102, 0, 0],
    ]);
    assertEquals(Array.from(batch.lengths), [6, 5]);
  },
});

Deno.test({
  name: "pairs: token type ids, sequence ids, truncation to max_length",
  ignore,
  fn() {
    const enc = bert!.encode(["I love Paris.", "I hate traffic."]);
    assertEquals(
      enc.tokens.join(" "),
      "[CLS] i love paris . [SEP] i hate traffic . [SEP]",
    );
    assertEquals(Array.from(enc.typeIds), [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    assertEquals(Array.from(enc.sequenceIds), [-1, 0, 0, 0, 0, -1, 1, 1, 1, 1, -1]);
    const cut = bert!.encode(["I love Paris.", "I hate traffic."], {
      maxLength: 7,
      truncation: true,
    });
    assertEquals(cut.tokens.join(" "), "[CLS] i love [SEP] i hate [SEP]");
  },
});

Deno.test({
  name: "decode, tokenize and convertIdsToTokens",
  ignore,
  fn() {
    const enc = bert!.encode("Unaffable tokenizers don't break.");
    assertEquals(bert!.tokenize("Unaffable"), ["una", "##ffa", "##ble"]);
    assertEquals(
      bert!.decode(enc.ids, { skipSpecialTokens: true }),
      "unaffable tokenizers don ' t break.", // HF's cleanup works token by token
    );
    assertEquals(bert!.convertIdsToTokens([101, 102]), ["[CLS]", "[SEP]"]);
    assertEquals(bert!.tokenToId("paris"), 3000);
  },
});

Deno.test({
  name: "bad input gives typed errors naming the argument",
  ignore,
  async fn() {
    const e = assertThrows(() => bert!.encode(42 as unknown as string), InputError, "string");
    assertEquals(e.param, "text");
    assertThrows(() => bert!.encode(["a", 1] as unknown as [string, string]), InputError);
    assertThrows(() => bert!.encodeBatch("abc" as unknown as string[]), InputError);
    const b = assertThrows(() => bert!.encodeBatch(["ok", null as unknown as string]), InputError);
    assertEquals(b.param, "inputs[1]");
    assertThrows(() => bert!.encode("x", { maxLength: -1 }), InputError, "maxLength");
    assertThrows(() => bert!.encode("x", { truncation: true }), InputError, "maxLength");
    assertThrows(() => bert!.encode("x", { padding: "max_length" }), InputError, "maxLength");
    assertThrows(
      () => bert!.encode("x", { padding: "sideways" as unknown as "longest" }),
      InputError,
    );
    assertThrows(() => bert!.encode("x", { maxLength: 1, truncation: true }), InputError);
    assertThrows(
      () => bert!.encode("a b c d e f g", { maxLength: 5, truncation: "only_second" }),
      InputError,
    );
    assertThrows(
      () => bert!.encode(["a b c d e f", "g"], { maxLength: 5, truncation: "only_second" }),
      InputTooLongError,
    );
    const small = await Tokenizer.fromVocab(vocabText);
    small.maxInputChars = 1000;
    assertThrows(() => small.encode("a".repeat(1001)), InputTooLongError, "1000");
    assertEquals(small.encode("a".repeat(1000)).tokens, ["[CLS]", "[UNK]", "[SEP]"]);
    await assertRejects(() => Tokenizer.fromVocab(""), TokenizerLoadError, "empty");
    await assertRejects(() => Tokenizer.fromVocab("a\nb\n"), TokenizerLoadError, "clsToken");
    await assertRejects(() => Tokenizer.fromTokenizerJson("{not json"), TokenizerLoadError);
    // past the trie's 16-bit token lengths: an error, not a truncated length
    await assertRejects(
      () => Tokenizer.fromVocab(`[PAD]\n[UNK]\n[CLS]\n[SEP]\n${"a".repeat(65536)}\n`),
      TokenizerLoadError,
      "too large",
    );
    await assertRejects(
      () => Tokenizer.fromTokenizerJson({ model: { type: "BPE", vocab: {} } }),
      TokenizerLoadError,
      "WordPiece",
    );
  },
});

Deno.test({
  name: "precompiled form: corrupt or truncated bytes give TokenizerLoadError, never a trap",
  ignore,
  async fn() {
    const bytes = bert!.toBytes();
    await assertRejects(() => Tokenizer.fromBytes(bytes.subarray(0, 100)), TokenizerLoadError);
    await assertRejects(() => Tokenizer.fromBytes(new Uint8Array(10)), TokenizerLoadError);
    await assertRejects(
      () => Tokenizer.fromBytes(bytes.subarray(0, bytes.length - 4)),
      TokenizerLoadError,
    );
    const r = rng(1);
    let rejected = 0, loaded = 0, lateRejected = 0;
    const vocabSize = bert!.vocabSize;
    const headerEnd = bytes.length - (bytes.length >> 1);
    for (let i = 0; i < 60; i++) {
      const bad = bytes.slice();
      // flip bytes in the trie block (second half) or anywhere
      for (let k = 0; k < 1 + Math.floor(r() * 8); k++) {
        const at = i % 2
          ? headerEnd + Math.floor(r() * (bytes.length - headerEnd))
          : Math.floor(r() * bytes.length);
        bad[at] ^= 1 + Math.floor(r() * 255);
      }
      try {
        const t = await Tokenizer.fromBytes(bad);
        loaded++;
        // a mutation that passes validation may change ids, but must not trap or hang, and
        // what it gives is still well-formed: ids inside the vocabulary, at most one token
        // per UTF-16 unit plus [CLS]/[SEP], offsets inside the text
        for (const text of ["I love Paris.", "unaffable héllo 東京", "x".repeat(300)]) {
          const enc = t.encode(text);
          assert(enc.ids.length <= text.length + 2, `${enc.ids.length} ids for ${text.length}`);
          assert(enc.ids.every((id) => id >= 0 && id < vocabSize), "id outside the vocabulary");
          assert(enc.offsets.every((o) => o <= text.length), "offset outside the text");
          try {
            t.decode(enc.ids);
          } catch (e) {
            // the id → string table is parsed on first use (cold start), so a damaged one
            // is reported then, as the same typed error
            if (!(e instanceof TokenizerLoadError && e.message.includes("vocabulary"))) throw e;
            lateRejected++;
          }
        }
      } catch (e) {
        if (!(e instanceof TokenizerLoadError)) throw e;
        rejected++;
      }
    }
    assert(rejected > 0, "no corruption was detected");
    assertEquals(rejected + loaded, 60);
    assert(lateRejected <= 3 * loaded);
  },
});

Deno.test({
  name: "memory: 1,000,000 encodes of random inputs do not grow wasm memory",
  ignore,
  fn() {
    const tok = bert!;
    const r = rng(123);
    const alphabet = "abcdefghijklmnopqrstuvwxyz ABCXYZ.,!?'-éüñ東京한국😀\u0301\u200b\t\n[MASK]##";
    const chars = Array.from(alphabet);
    const text = () => {
      let s = "";
      const n = Math.floor(r() * 64);
      for (let i = 0; i < n; i++) s += chars[Math.floor(r() * chars.length)];
      return s;
    };
    // warm up, including one large input that grows the buffers
    for (let i = 0; i < 10_000; i++) tok.encode(text());
    tok.encode("word ".repeat(200_000));
    tok.encode("short");
    const before = tok.memoryBytes();
    let tokens = 0;
    for (let i = 0; i < 1_000_000; i++) tokens += tok.encode(text()).ids.length;
    tok.encode("word ".repeat(200_000));
    const after = tok.memoryBytes();
    assert(tokens > 1_000_000);
    assertEquals(after, before, `wasm memory grew from ${before} to ${after} bytes`);
  },
});

/**
 * tokenizer.json two ways: the text (the vocabulary scanned in wasm, the rest parsed) and
 * the parsed object (JSON.parse all of it). Equal configuration and equal compiled trie
 * bytes, on real files and on variants written to trip a scanner; where the scanner steps
 * aside (ids written as 1e2 or 5.0), the answer is still the JSON.parse path's, and broken
 * JSON gets the same error.
 */
Deno.test({
  name: "tokenizer.json: the scanned fast path equals the JSON.parse path (config and trie bytes)",
  ignore: !hasShared("models/all-MiniLM-L6-v2/tokenizer.json"),
  async fn() {
    const original = Deno.readTextFileSync(shared("models/all-MiniLM-L6-v2/tokenizer.json"));
    const tj = JSON.parse(original);
    const vocab = tj.model.vocab as Record<string, number>;
    const extra = (tokens: Record<string, number>) => {
      const copy = structuredClone(tj);
      Object.assign(copy.model.vocab, tokens);
      return copy;
    };
    const n = Object.keys(vocab).length;
    const variants: [string, string][] = [
      ["as shipped", original],
      ["pretty-printed", JSON.stringify(tj, null, 2)],
      ["minified", JSON.stringify(tj)],
      // escapes JSON.stringify would not write: \u for every non-ASCII char, \/ for /
      [
        "escaped",
        JSON.stringify(extra({ "a/b": n, 'say "hi"': n + 1, "back\\slash": n + 2, "😀x": n + 3 }))
          // deno-lint-ignore no-control-regex
          .replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
          .replaceAll("a/b", "a\\/b"),
      ],
      // characters of 2, 3 and 4 UTF-8 bytes written raw (the scanner reads UTF-8)
      ["raw", JSON.stringify(extra({ "😀": n, "𝔘nicode": n + 1, "ñandú": n + 2, "日本": n + 3 }))],
      // the vocabulary listed backwards: the whole-word table is filled in id order, so the
      // scanned path (listing order) builds the same bytes
      [
        "reversed",
        JSON.stringify({
          ...tj,
          model: { ...tj.model, vocab: Object.fromEntries(Object.entries(vocab).reverse()) },
        }),
      ],
      // another "vocab" key before the model's
      ["decoy", JSON.stringify({ decoy: { vocab: { zz: 0 } }, ...tj })],
      // ids past the end (holes), and a token listed twice (the later id wins)
      ["holes", JSON.stringify(extra({ far: n + 10 }))],
      ["duplicate", JSON.stringify(tj).replace('"[PAD]":0,', '"[PAD]":0,"love":31000,')],
      // numbers the scanner does not take: the JSON.parse path reads them
      ["exponent", JSON.stringify(tj).replace('"the":1996', '"the":1.996e3')],
      // an added token whose id the vocabulary lacks (the added token fills it), and two
      // tokens for one id: the JSON.parse path's rules decide
      [
        "added beyond",
        JSON.stringify({
          ...tj,
          added_tokens: [...tj.added_tokens, {
            id: n + 5,
            content: "[NEW]",
            single_word: false,
            lstrip: false,
            rstrip: false,
            normalized: false,
            special: true,
          }],
        }),
      ],
      ["shared id", JSON.stringify(tj).replace('"[PAD]":0,', '"[PAD]":0,"zzzq":1996,')],
      ["fraction", JSON.stringify(tj).replace('"the":1996', '"the":1996.0')],
    ];
    let compared = 0;
    const parse = JSON.parse;
    for (const [name, text] of variants) {
      // which path ran: the fast one's last parse leaves the vocabulary out
      let last = 0;
      JSON.parse = (t: string, ...rest: []) => {
        last = t.length;
        return parse(t, ...rest);
      };
      let fast: Tokenizer;
      try {
        fast = await Tokenizer.fromTokenizerJson(text);
      } finally {
        JSON.parse = parse;
      }
      const scanned = last < text.length / 2;
      const parsedWay = ["exponent", "fraction", "duplicate", "added beyond", "shared id"];
      assertEquals(scanned, !parsedWay.includes(name), name);
      const slow = await Tokenizer.fromTokenizerJson(JSON.parse(text));
      assertEquals(JSON.stringify(fast.config), JSON.stringify(slow.config), name);
      const a = fast.toBytes(), b = slow.toBytes();
      assert(a.length === b.length && a.every((x, i) => x === b[i]), `${name}: trie bytes differ`);
      for (
        const t of ["I love Paris.", 'say "hi" a/b back\\slash 😀x café', "far love 😀 ñandú 日本"]
      ) {
        assertEquals([...fast.encode(t).ids], [...slow.encode(t).ids], `${name}: ${t}`);
      }
      compared++;
    }
    assertEquals(compared, variants.length);
    // the escapes were read as the characters they stand for
    const escaped = await Tokenizer.fromTokenizerJson(variants[3][1]);
    assertEquals(escaped.tokenToId("😀x"), n + 3);
    assertEquals(escaped.tokenToId('say "hi"'), n + 1);
    assertEquals(escaped.tokenToId("a/b"), n);
    const raw = await Tokenizer.fromTokenizerJson(variants[4][1]);
    assertEquals([raw.tokenToId("😀"), raw.tokenToId("𝔘nicode"), raw.tokenToId("日本")], [
      n,
      n + 1,
      n + 3,
    ]);
    // broken JSON: the same error either way
    const broken = original.replace('"the":', '"th\\qe":');
    const e = await assertRejects(() => Tokenizer.fromTokenizerJson(broken), TokenizerLoadError);
    assert(e.message.includes("not valid JSON"), e.message);
  },
});

Deno.test({
  name:
    "encodeRows: any rows written into model tensors equal encodeBatch's and encode's; encoding(i) equals encode",
  ignore,
  fn() {
    const tok = bert!;
    const lines = Deno.readTextFileSync(shared("corpus/big.txt")).split("\n")
      .filter((l) => l.trim()).slice(0, 400);
    const inputs: (string | [string, string])[] = [
      ...lines,
      ...adversarialStrings(200, 5, ["paris", "##ing", "[MASK]"]),
      ...lines.slice(0, 50).map((l, i): [string, string] => [l, lines[i + 1]]),
    ];
    let compared = 0;
    for (const options of [{}, { truncation: true, maxLength: 16 }] as const) {
      const rows = tok.encodeRows(inputs, options);
      const batch = tok.encodeBatch(inputs, options);
      assertEquals([...rows.lengths], [...batch.lengths]);
      // a shuffled subset, as a length-sorted model batch would take it
      const r = rng(11);
      const group = inputs.map((_, i) => i).filter(() => r() < 0.3).sort(() => r() - 0.5);
      const width = Math.max(...group.map((i) => rows.lengths[i]));
      const cells = group.length * width;
      const ids = new BigInt64Array(cells), mask = new BigInt64Array(cells);
      const types = new BigInt64Array(cells);
      rows.writeTensors(group, width, ids, mask, types);
      group.forEach((i, k) => {
        const one = tok.encode(inputs[i], { ...options, padding: "max_length", maxLength: width });
        for (let j = 0; j < width; j++) {
          const at = k * width + j;
          if (
            ids[at] !== BigInt(one.ids[j]) || mask[at] !== BigInt(one.attentionMask[j]) ||
            types[at] !== BigInt(one.typeIds[j])
          ) throw new Error(`input ${i}, token ${j}: tensors differ from encode`);
        }
        const e = rows.encoding(i), plain = tok.encode(inputs[i], options);
        assertEquals([...e.ids], [...plain.ids]);
        assertEquals([...e.offsets], [...plain.offsets]);
        assertEquals([...e.wordIds], [...plain.wordIds]);
        assertEquals([...e.sequenceIds], [...plain.sequenceIds]);
        assertEquals(e.tokens, plain.tokens);
        compared++;
      });
    }
    assert(compared > 150, `${compared} rows compared`);
  },
});

Deno.test({
  name:
    "precompiled form: a damaged whole-word table (no empty slot, a length or offset that does not fit) is refused",
  ignore,
  async fn() {
    const bytes = bert!.toBytes();
    // the block's place in the file (precompiled.ts: magic, header and vocabulary lengths)
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const block = (16 + dv.getUint32(8, true) + dv.getUint32(12, true) + 3) & ~3;
    const at = (k: number) => dv.getUint32(block + 4 * k, true);
    const [nodes, vocab, pool, slots, chars] = [at(2), at(3), at(4), at(5), at(6)];
    assert(slots >= 16 && chars > 0, `table of ${slots} slots, ${chars} characters`);
    // wasm/assembly/format.ts: header 32, nodes 12 each (+1), ascii 1024, pool, lengths
    const lengths = block + 32 + (nodes + 1) * 12 + 1024 + pool * 4;
    const table = lengths + ((vocab * 2 + 3) & ~3);
    let used = 0, first = -1;
    for (let i = 0; i < slots; i++) {
      if (dv.getUint32(table + 8 * i, true) !== 0) {
        used++;
        if (first < 0) first = i;
      }
    }
    assert(used > 1000 && used <= slots / 2, `${used} of ${slots} slots used`);
    const damaged = (change: (v: DataView) => void) => {
      const copy = bytes.slice();
      change(new DataView(copy.buffer));
      return copy;
    };
    const entry = table + 8 * first;
    for (
      const [what, bad] of [
        // every slot taken: a lookup of a word not in it would never stop
        [
          "no empty slot",
          damaged((v) => {
            for (let i = 0; i < slots; i++) {
              if (v.getUint32(table + 8 * i, true) === 0) {
                v.setUint32(table + 8 * i, v.getUint32(entry, true), true);
                v.setUint32(table + 8 * i + 4, v.getUint32(entry + 4, true), true);
              }
            }
          }),
        ],
        [
          "length unlike the token's",
          damaged((v) => {
            const packed = v.getUint32(entry + 4, true);
            v.setUint32(entry + 4, (packed & 0xffffff) | (((packed >>> 24) + 1) << 24), true);
          }),
        ],
        [
          "characters past the end",
          damaged((v) => {
            const packed = v.getUint32(entry + 4, true);
            v.setUint32(entry + 4, (packed & 0xff000000) | (chars - 1), true);
          }),
        ],
        ["token past the vocabulary", damaged((v) => v.setUint32(entry, vocab + 1, true))],
        ["slot count not a power of two", damaged((v) => v.setUint32(block + 20, slots - 1, true))],
      ] as const
    ) {
      const e = await assertRejects(() => Tokenizer.fromBytes(bad), TokenizerLoadError);
      assert(
        e.message.includes("corrupt") || e.message.includes("precompiled"),
        `${what}: ${e.message}`,
      );
    }
    // and the undamaged bytes load, with the table in use: equal ids
    const fine = await Tokenizer.fromBytes(bytes);
    assertEquals([...fine.encode("I love Paris.").ids], [101, 1045, 2293, 3000, 1012, 102]);
  },
});

/**
 * V8 frees an object shape once no object has it, and drops the optimized code that was
 * specialised for it. Encodings are short-lived: before the Encoding class kept one of its
 * own, every full GC after a run threw away the optimized encode (a tenth of big.txt's
 * time went to warming it up again). The child runs with V8's optimization traces on.
 */
Deno.test("a full GC keeps encode's optimized code (no deoptimization for a freed shape)", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      // compiling on the main thread only: a background compile job holds handles that can
      // keep an Encoding (and so its shape) alive through the GC, and hide the bug
      "--v8-flags=--expose-gc,--allow-natives-syntax,--trace-opt,--trace-deopt," +
      "--no-concurrent-recompilation,--no-concurrent-osr",
      new URL("./support/encode_across_gc.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  assert(out.includes("same"), out.slice(-300));
  // the trace names every optimized function it drops, and why
  const dropped = out.split("\n").filter((l) =>
    l.includes("embedded weak objects cleared") &&
    /SharedFunctionInfo (encode|get ids|ArenaEncoding)>/.test(l)
  );
  assertEquals(dropped, []);
  // there was optimized code to lose (the child has TurboFan compile encode on the spot),
  // and the GC left it in place
  assert(
    /completed compiling .*JSFunction encode .*TURBOFAN/.test(out),
    "encode was not optimized",
  );
  assert(out.includes("optimized before gc: true"), out.slice(-300));
  assert(out.includes("optimized after gc: true"), out.slice(-300));
});

/**
 * encodeBatch of single texts runs them in one wasm call (runs of plain texts; a text
 * holding added tokens between two calls) and writes only the model tensors; the other
 * fields come from the row path when first read. Every row, under every option, equals
 * encode of its text.
 */
Deno.test({
  name:
    "encodeBatch of single texts (the one-call path) equals encode row by row: tensors, lengths and the fields made on first read",
  ignore,
  async fn() {
    const tok = bert!;
    const lines = Deno.readTextFileSync(shared("corpus/big.txt")).split("\n")
      .filter((l) => l.trim()).slice(0, 300);
    const inputs = [
      ...lines,
      ...adversarialStrings(200, 7, ["paris", "##ing", "[MASK]", "[SEP]"]),
      "",
      "[MASK]",
      "[MASK] [MASK]",
      "x[MASK]y [SEP]",
      "   ",
      "[not added",
    ];
    const optionSets = [
      {},
      { truncation: true, maxLength: 16 },
      { truncation: "only_first", maxLength: 9 },
      { truncation: "longest_first", maxLength: 2 },
      { padding: "max_length", maxLength: 700 },
      { padToMultipleOf: 8 },
      { addSpecialTokens: false },
      { addSpecialTokens: false, truncation: true, maxLength: 5 },
    ] as const;
    // ASCII-only batches on a tokenizer of their own, added tokens among them
    const ascii = await Tokenizer.fromVocab(vocabText);
    const reference = await Tokenizer.fromVocab(vocabText);
    const asciiInputs = [...lines.slice(0, 120), "[MASK] me", "a [SEP] b", "", "[x"];
    assert(asciiInputs.every((t) => [...t].every((c) => c.charCodeAt(0) < 128)));
    // and last, text that is not ASCII in an input area left larger by those batches
    const after = ["café [MASK] ü", "naïve", "x"];
    // a text long enough to grow the output, and the memory, before texts with added
    // tokens (views of the memory made before it grew are detached), on a fresh tokenizer
    // from the precompiled form (a build leaves its scratch memory to grow into)
    const grower = await Tokenizer.fromBytes(tok.toBytes());
    const growing = [lines.join(" ").slice(0, 150_000), "x [MASK] y", "[SEP] z"];
    const memoryBefore = grower.memoryBytes();
    let compared = 0;
    const runs = [
      ...optionSets.flatMap((options) => [
        { tok, inputs, options },
        { tok: ascii, inputs: asciiInputs, options },
      ]),
      { tok: ascii, inputs: after, options: {} },
      { tok: grower, inputs: growing, options: {} },
    ];
    // every batch's tensors, kept to check at the end that later batches left them alone
    // (small batches share a tensor arena)
    const kept: [BatchEncoding, BigInt64Array, BigInt64Array][] = [];
    for (const { tok, inputs, options } of runs) {
      const batch = tok.encodeBatch(inputs, options);
      kept.push([batch, batch.inputIds.slice(), batch.attentionMask.slice()]);
      const where = JSON.stringify(options);
      // the one-call path: its other fields are getters (the row path's are data)
      assertEquals(Object.getOwnPropertyDescriptor(batch, "offsets"), undefined, where);
      const width = batch.sequenceLength;
      inputs.forEach((text, i) => {
        // (the real tokens, from a tokenizer that never ran a batch)
        const one = reference.encode(text, { ...options, padding: false });
        const n = one.ids.length, at = i * width;
        const cells = (a: ArrayLike<number | bigint>, from: number, to: number) =>
          Array.from({ length: to - from }, (_, k) => Number(a[from + k]));
        const row = `${where} input ${i} ${JSON.stringify(text).slice(0, 60)}`;
        assertEquals(batch.lengths[i], n, row);
        assertEquals(cells(batch.inputIds, at, at + n), [...one.ids], row);
        assertEquals(cells(batch.attentionMask, at, at + n), [...one.attentionMask], row);
        assertEquals(cells(batch.tokenTypeIds, at, at + n), [...one.typeIds], row);
        assertEquals(cells(batch.wordIds, at, at + n), [...one.wordIds], row);
        assertEquals(cells(batch.offsets, 2 * at, 2 * at + 2 * n), [...one.offsets], row);
        assertEquals(cells(batch.specialTokensMask, at, at + n), [...one.specialTokensMask], row);
        assertEquals(cells(batch.sequenceIds, at, at + n), [...one.sequenceIds], row);
        // padding: [PAD] (id 0), no attention, special, no word
        const pad = (a: ArrayLike<number | bigint>, v: number) =>
          cells(a, at + n, at + width).every((x) => x === v);
        assert(pad(batch.inputIds, 0) && pad(batch.attentionMask, 0), row);
        assert(pad(batch.specialTokensMask, 1) && pad(batch.wordIds, -1), row);
        compared++;
      });
    }
    assertEquals(
      compared,
      optionSets.length * (inputs.length + asciiInputs.length) + after.length + growing.length,
    );
    assert(grower.memoryBytes() > memoryBefore, "the long text did not grow the memory");
    for (const [batch, ids, mask] of kept) {
      assertEquals(batch.inputIds, ids);
      assertEquals(batch.attentionMask, mask);
    }
    // small batches one after another: each its own region
    const small = Array.from({ length: 299 }, (_, i) => tok.encodeBatch([lines[i], lines[i + 1]]));
    small.forEach((b, i) => {
      const one = reference.encode(lines[i]);
      assertEquals([...b.inputIds.subarray(0, one.ids.length)].map(Number), [...one.ids]);
    });
  },
});
