/**
 * Sparse (SPLADE) vectors (src/model/sparse/): the pooling on hand-made logits, and
 * `SparseEncoder` on the generated BERT with a masked-LM head against the float64
 * reference (indices exact, values within a tolerance), texts of different lengths batched
 * together (so padding is masked out); and the model-kind refusals both ways.
 */
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./support/assert.ts";
import {
  referenceForward,
  referenceMaskedLmLogits,
  referenceSplade,
} from "./support/bert_reference.ts";
import { hasShared, shared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { spladePool } from "../src/model/sparse/splade.ts";
import { SparseEncoder } from "../src/model/sparse/sparse_encoder.ts";
import { TextClassifier } from "../src/model/classify/text_classifier.ts";
import { InputError, InputTooLongError, ModelLoadError } from "../src/errors.ts";

Deno.test("splade: max over real tokens of log(1 + relu), non-zero entries by index", () => {
  // two inputs × three tokens × vocabulary 4; the second input's last token is padding
  const logits = Float32Array.of(
    ...[-1, 0.5, 0, 2],
    ...[3, 0.25, -2, 1],
    ...[-1, -1, -1, -1],
    ...[0, 0, 1, 0],
    ...[-5, 0, 0, 0],
    ...[9, 9, 9, 9], // padding: must not count
  );
  const mask = BigInt64Array.of(1n, 1n, 1n, 1n, 1n, 0n);
  const [a, b] = spladePool(logits, mask, 2, 3, 4);
  assertEquals(a.map((e) => e.index), [0, 1, 3]);
  [3, 0.5, 2].forEach((x, k) => assertAlmostEquals(a[k].value, Math.log1p(x), 1e-7));
  assertEquals(b.map((e) => e.index), [2]);
  assertAlmostEquals(b[0].value, Math.log(2), 1e-7);
});

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");
const TEXTS = [
  "sparse retrieval with learned term weights",
  "paris",
  "the quick brown fox jumps over the lazy dog near the river bank",
  "i love paris .",
];

Deno.test({
  name: "SparseEncoder: the generated masked LM's SPLADE vectors equal the float64 reference",
  ignore,
  async fn() {
    const { dir, weights } = await makeTestModel({ head: "masked-lm" });
    const encoder = await SparseEncoder.load(dir, { backend: "native" });
    try {
      assertEquals(encoder.info.vocabSize, weights.vocabSize);
      const vectors = await encoder.embedSparse(TEXTS); // one padded batch
      let diff = 0, margin = Infinity, entries = 0;
      TEXTS.forEach((text, i) => {
        const ids = [Array.from(encoder.tokenizer.encode(text).ids)];
        const mask = [ids[0].map(() => 1)];
        const logits = referenceMaskedLmLogits(
          weights,
          referenceForward(weights, ids, mask, [ids[0].map(() => 0)]),
        );
        // how near zero any entry's max logit is: indices are exact only away from it
        for (let v = 0; v < weights.vocabSize; v++) {
          margin = Math.min(margin, Math.abs(Math.max(...logits[0].map((row) => row[v]))));
        }
        const [expected] = referenceSplade(logits, mask);
        assertEquals(vectors[i].map((e) => e.index), expected.map((e) => e.index), text);
        vectors[i].forEach((
          e,
          k,
        ) => (diff = Math.max(diff, Math.abs(e.value - expected[k].value))));
        entries += expected.length;
      });
      console.log(
        `SPLADE: ${entries} entries over ${TEXTS.length} texts (vocabulary ${weights.vocabSize}); ` +
          `max diff ${diff.toExponential(2)}; nearest max logit to 0: ${margin.toExponential(2)}`,
      );
      assert(diff < 1e-5, `max diff ${diff}`); // measured 3.7e-6
      // onnxruntime's logits are within 1e-5 of the reference (generated_heads_test.ts):
      // no entry's max is that near zero, so an index differing would be a bug, not noise
      assert(margin > 1e-4, `a max logit ${margin} from zero`); // measured 2.8e-4
      // texts alone (no padding) give the same vectors
      const [alone] = await encoder.embedSparse([TEXTS[1]]);
      assertEquals(alone.map((e) => e.index), vectors[1].map((e) => e.index));
      // onnxruntime-web gives the same indices, values within the same tolerance
      const web = await SparseEncoder.load(dir, { backend: "wasm" });
      try {
        assertEquals(web.info.engine, "onnxruntime-web");
        // and says why the kernels do not run it
        assert(
          web.info.engineNote?.startsWith("the kernels run BERT encoders, not the masked-LM head"),
          web.info.engineNote,
        );
        const webVectors = await web.embedSparse(TEXTS);
        let webDiff = 0;
        webVectors.forEach((vector, i) => {
          assertEquals(vector.map((e) => e.index), vectors[i].map((e) => e.index));
          vector.forEach((
            e,
            k,
          ) => (webDiff = Math.max(webDiff, Math.abs(e.value - vectors[i][k].value))));
        });
        console.log(`onnxruntime-web vs native: max diff ${webDiff.toExponential(2)}`);
        assert(webDiff < 1e-5, `web max diff ${webDiff}`);
      } finally {
        await web.close();
      }
    } finally {
      await encoder.close();
    }
  },
});

Deno.test({
  name: "SparseEncoder: truncation, input checks, and the model kinds it refuses",
  ignore,
  async fn() {
    const { dir } = await makeTestModel({ head: "masked-lm", maxPositions: 16 });
    const encoder = await SparseEncoder.load(dir, { backend: "native" });
    try {
      const long = "word ".repeat(40);
      const [cut] = await encoder.embedSparse([long]);
      assert(cut.length > 0);
      await assertRejects(
        () => encoder.embedSparse([long], { truncate: false }),
        InputTooLongError,
        "the limit is 16",
      );
      await assertRejects(() => encoder.embedSparse([""]), InputError, "texts[0]");
    } finally {
      await encoder.close();
    }
    await assertRejects(() => TextClassifier.load(dir), ModelLoadError, "SparseEncoder");
    const classifier = await makeTestModel({ head: "sequence-classification", labels: 1 });
    await assertRejects(() => SparseEncoder.load(classifier.dir), ModelLoadError, "TextClassifier");
    const plain = await makeTestModel();
    await assertRejects(() => SparseEncoder.load(plain.dir), ModelLoadError, "no logits output");
    // the shared embedge-mini-mlm was trained as an MLM but exported as an encoder only
    if (hasShared("models/embedge-mini-mlm/onnx/model.onnx")) {
      await assertRejects(
        () => SparseEncoder.load(shared("models/embedge-mini-mlm")),
        ModelLoadError,
        "no logits output",
      );
    }
  },
});
