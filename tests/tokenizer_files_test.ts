/**
 * A model's tokenizer from its files: the precompiled `embedge-tokenizer.bin` (as the
 * Worker's assets carry it) gives the same encodings as building from `tokenizer.json`;
 * a stale or damaged one is not used when the source is there, and is a ModelLoadError
 * when it is not.
 */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { hasShared, shared, tempDir } from "./support/paths.ts";
import { type ModelFiles, readModelFiles } from "../src/model/files.ts";
import {
  loadModelTokenizer,
  PRECOMPILED_TOKENIZER,
  precompileModelTokenizer,
  TOKENIZER_FILES,
} from "../src/model/tokenizer_files.ts";
import { prepareWorkerAssets } from "../bin/worker_assets.ts";
import { ModelLoadError } from "../src/errors.ts";
import type { Tokenizer } from "../src/tokenizer/tokenizer.ts";

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
