/**
 * A model's tokenizer from its files: the precompiled `embedge-tokenizer.bin` (as the
 * Worker's assets carry it) gives the same encodings as building from `tokenizer.json`;
 * a stale or damaged one is not used when the source is there, and is a ModelLoadError
 * when it is not. Built tokenizers are kept in the tokenizer cache by the digest of their
 * source files, and read from it on the next load.
 */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { hasShared, shared, tempDir } from "./support/paths.ts";
import { type ModelFiles, readModelFiles } from "../src/model/files.ts";
import {
  directoryTokenizerCache,
  loadModelTokenizer,
  PRECOMPILED_TOKENIZER,
  precompileModelTokenizer,
  TOKENIZER_FILES,
} from "../src/model/tokenizer_files.ts";
import { prepareWorkerAssets } from "../bin/worker_assets.ts";
import { ModelLoadError } from "../src/errors.ts";
import { Tokenizer } from "../src/tokenizer/tokenizer.ts";
import { Embedder } from "../src/model/embedder.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");
const texts = [
  "I love Paris.",
  "Unaffable naïve café, 東京 and ☃ [MASK] tokens",
  "x".repeat(150),
  "",
];

function withFiles(files: ModelFiles, changes: Record<string, Uint8Array | undefined>): ModelFiles {
  return { name: files.name, get: (p) => (p in changes ? changes[p] : files.get(p)) };
}

function encodings(t: Tokenizer) {
  return texts.map((x) => {
    const e = t.encode(["a question", x]);
    return { ids: [...e.ids], types: [...e.typeIds], offsets: e.offsets };
  });
}

Deno.test({
  name: "precompiled model tokenizer: same encodings, stale or damaged files fall back or fail",
  ignore,
  async fn() {
    const source = await readModelFiles(shared("models/all-MiniLM-L6-v2"), TOKENIZER_FILES);
    assertEquals(source.get(PRECOMPILED_TOKENIZER), undefined);
    const built = await loadModelTokenizer(source);
    const bin = await precompileModelTokenizer(source);
    const expected = encodings(built);

    // beside its source, and alone (as a Worker might ship it)
    const beside = withFiles(source, { [PRECOMPILED_TOKENIZER]: bin });
    assertEquals(encodings(await loadModelTokenizer(beside)), expected);
    const alone = withFiles(source, {
      [PRECOMPILED_TOKENIZER]: bin,
      "tokenizer.json": undefined,
      "tokenizer_config.json": undefined,
      "vocab.txt": undefined,
    });
    assertEquals(encodings(await loadModelTokenizer(alone)), expected);

    // stale: the source says cased now, the precompiled file does not → built from source
    const tj = JSON.parse(new TextDecoder().decode(source.get("tokenizer.json")));
    tj.normalizer.lowercase = false;
    tj.normalizer.strip_accents = false;
    const cased = withFiles(beside, {
      "tokenizer.json": new TextEncoder().encode(JSON.stringify(tj)),
    });
    const fromStale = await loadModelTokenizer(cased);
    assertEquals(fromStale.config.lowercase, false);
    assert(fromStale.encode("Paris").ids[1] !== built.encode("Paris").ids[1]);

    // a fresh precompiled file is what gets used: one built from the cased source but
    // carrying the uncased source's digest behaves cased
    const casedBin = await precompileModelTokenizer(cased);
    casedBin.set(bin.subarray(0, 32));
    const used = await loadModelTokenizer(withFiles(beside, { [PRECOMPILED_TOKENIZER]: casedBin }));
    assertEquals(used.config.lowercase, false);

    // damaged trie: source present → built from source; alone → ModelLoadError
    const damaged = bin.slice(0, bin.length - 8);
    assertEquals(
      encodings(await loadModelTokenizer(withFiles(beside, { [PRECOMPILED_TOKENIZER]: damaged }))),
      expected,
    );
    await assertRejects(
      () => loadModelTokenizer(withFiles(alone, { [PRECOMPILED_TOKENIZER]: damaged })),
      ModelLoadError,
      PRECOMPILED_TOKENIZER,
    );
  },
});

Deno.test({
  name: "worker assets carry the precompiled tokenizer of the model directory",
  ignore,
  async fn() {
    const out = await tempDir();
    const model = shared("models/all-MiniLM-L6-v2");
    await prepareWorkerAssets(model, out);
    const assets = await readModelFiles(out, TOKENIZER_FILES);
    const direct = await precompileModelTokenizer(await readModelFiles(model, TOKENIZER_FILES));
    assertEquals(assets.get(PRECOMPILED_TOKENIZER), direct);
    await Deno.remove(out, { recursive: true });
  },
});

Deno.test({
  name:
    "tokenizer cache: a build is kept by the digest of its sources and read next time; damaged entries are rebuilt; an unwritable cache only costs the build",
  ignore,
  async fn() {
    const files = await readModelFiles(shared("models/all-MiniLM-L6-v2"), TOKENIZER_FILES);
    const dir = `${await tempDir("embedge-tokenizer-cache-")}/tokenizers`;
    const cache = directoryTokenizerCache(dir);
    // which way each load went: Tokenizer.fromBytes is the cache's way
    const fromBytes = Tokenizer.fromBytes;
    let readFromCache = 0;
    Tokenizer.fromBytes = (...args) => {
      readFromCache++;
      return fromBytes.apply(Tokenizer, args);
    };
    try {
      const built = await loadModelTokenizer(files, undefined, cache);
      assertEquals(readFromCache, 0);
      const entries = [...Deno.readDirSync(dir)].map((e) => e.name);
      assertEquals(entries.length, 1);
      assert(/^[0-9a-f]{64}\.bin$/.test(entries[0]), entries[0]);
      assertEquals(Deno.readFileSync(`${dir}/${entries[0]}`), built.toBytes());

      const again = await loadModelTokenizer(files, undefined, cache);
      assertEquals(readFromCache, 1);
      for (const t of texts) assertEquals([...again.encode(t).ids], [...built.encode(t).ids], t);

      // another source, another entry (never the first one's trie)
      const vocabOnly = withFiles(files, { "tokenizer.json": undefined });
      const fromVocab = await loadModelTokenizer(
        withFiles(vocabOnly, {
          "vocab.txt": Deno.readFileSync(shared("models/bert-base-uncased/vocab.txt")),
        }),
        undefined,
        cache,
      );
      assertEquals([...Deno.readDirSync(dir)].length, 2);
      assertEquals([...fromVocab.encode("I love Paris.").ids], [101, 1045, 2293, 3000, 1012, 102]);

      // a damaged entry is built again and replaced
      Deno.writeFileSync(`${dir}/${entries[0]}`, new Uint8Array([1, 2, 3]));
      const rebuilt = await loadModelTokenizer(files, undefined, cache);
      assertEquals([...rebuilt.encode(texts[1]).ids], [...built.encode(texts[1]).ids]);
      assertEquals(Deno.readFileSync(`${dir}/${entries[0]}`), built.toBytes());

      // a cache that cannot be written (its directory would be under a file): built each time
      const file = `${await tempDir()}/a-file`;
      Deno.writeTextFileSync(file, "x");
      const blocked = await loadModelTokenizer(
        files,
        undefined,
        directoryTokenizerCache(`${file}/t`),
      );
      assertEquals([...blocked.encode(texts[0]).ids], [...built.encode(texts[0]).ids]);

      // an entry's name taken by a directory: the rename fails, and no .partial file is
      // left behind (one per start before)
      const taken = `${await tempDir("embedge-tokenizer-cache-")}/tokenizers`;
      const key = entries[0].replace(/\.bin$/, "");
      Deno.mkdirSync(`${taken}/${key}.bin`, { recursive: true });
      for (let start = 0; start < 2; start++) {
        const t = await loadModelTokenizer(files, undefined, directoryTokenizerCache(taken));
        assertEquals([...t.encode(texts[0]).ids], [...built.encode(texts[0]).ids]);
      }
      assertEquals([...Deno.readDirSync(taken)].map((e) => e.name), [`${key}.bin`]);
    } finally {
      Tokenizer.fromBytes = fromBytes;
    }
  },
});

Deno.test({
  name:
    "Embedder.load keeps its tokenizer in the cache under EMBEDGE_CACHE; tokenizerCache: false keeps none",
  ignore: ignore || !hasShared("models/embedge-mini-mlm/onnx/model.onnx"),
  async fn() {
    const root = await tempDir("embedge-cache-");
    const previous = Deno.env.get("EMBEDGE_CACHE");
    Deno.env.set("EMBEDGE_CACHE", root);
    try {
      const model = shared("models/embedge-mini-mlm");
      const off = await Embedder.load(model, { backend: "wasm", tokenizerCache: false });
      await off.close();
      assertEquals([...Deno.readDirSync(root)].length, 0);
      const on = await Embedder.load(model, { backend: "wasm" });
      await on.close();
      assertEquals([...Deno.readDirSync(`${root}/tokenizers`)].length, 1);
    } finally {
      if (previous === undefined) Deno.env.delete("EMBEDGE_CACHE");
      else Deno.env.set("EMBEDGE_CACHE", previous);
    }
  },
});
