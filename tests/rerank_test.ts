/**
 * Reranking (src/model/classify/rerank.ts, `TextClassifier.rerank`): the ranking helpers;
 * a generated cross-encoder (the generated BERT with a one-label classification head)
 * against the float64 reference, scores and order; and the real embedge-mini-sst2 run
 * through the same pair path, ranked by its positive logit.
 */
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertRejects,
  assertThrows,
} from "./support/assert.ts";
import { referenceClassifierLogits, referenceForward } from "./support/bert_reference.ts";
import { hasShared, shared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { rankTexts, relevanceColumn } from "../src/model/classify/rerank.ts";
import { TextClassifier } from "../src/model/classify/text_classifier.ts";
import { InputError, InputTooLongError } from "../src/errors.ts";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

Deno.test("rerank helpers: best first, ties in text order, topK, text on demand; the relevance logit", () => {
  const scores = Float64Array.of(0.5, 0.9, 0.5, 0.1);
  assertEquals(rankTexts(scores, ["a", "b", "c", "d"]).map((r) => r.index), [1, 0, 2, 3]);
  assertEquals(rankTexts(scores, ["a", "b", "c", "d"], { topK: 2, returnText: true }), [
    { index: 1, score: 0.9, text: "b" },
    { index: 0, score: 0.5, text: "a" },
  ]);
  assertThrows(() => rankTexts(scores, ["a", "b", "c", "d"], { topK: 0 }), InputError, "topK");
  assertEquals(relevanceColumn(["LABEL_0"], undefined), 0);
  assertEquals(relevanceColumn(["negative", "positive"], "positive"), 1);
  assertEquals(relevanceColumn(["negative", "positive"], 0), 0);
  assertThrows(
    () => relevanceColumn(["negative", "positive"], undefined),
    InputError,
    "a reranker has one",
  );
  assertThrows(
    () => relevanceColumn(["negative", "positive"], "neutral"),
    InputError,
    "label must be one of",
  );
});

const ignoreGenerated = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");
const QUERY = "what is the capital of france";
const TEXTS = [
  "paris is the capital of france",
  "the eiffel tower",
  "berlin is a city in germany with many museums and a long history",
  "capital",
  "france exports wine and cheese",
  "a cat sat on the mat",
];

Deno.test({
  name: "rerank: a generated cross-encoder's scores and order equal the float64 reference",
  ignore: ignoreGenerated,
  async fn() {
    const { dir, weights } = await makeTestModel({ head: "sequence-classification", labels: 1 });
    const reranker = await TextClassifier.load(dir, { backend: "native" });
    try {
      assertEquals(reranker.info.labels, ["LABEL_0"]);
      // the reference runs each pair alone, unpadded: [CLS] query [SEP] text [SEP], types 0/1
      const expected = TEXTS.map((text) => {
        const enc = reranker.tokenizer.encode([QUERY, text]);
        const ids = [Array.from(enc.ids)], types = [Array.from(enc.typeIds)];
        const out = referenceForward(weights, ids, [ids[0].map(() => 1)], types);
        return referenceClassifierLogits(weights, out)[0][0];
      });
      const order = Array.from(expected.keys()).sort((a, b) => expected[b] - expected[a]);
      const gaps = order.slice(1).map((k, i) => expected[order[i]] - expected[k]);
      const ranks = await reranker.rerank(QUERY, TEXTS, { returnText: true });
      assertEquals(ranks.map((r) => r.index), order);
      assertEquals(ranks.map((r) => r.text), order.map((i) => TEXTS[i]));
      const raw = await reranker.rerank(QUERY, TEXTS, { rawScores: true, topK: 3 });
      assertEquals(raw.map((r) => r.index), order.slice(0, 3));
      let diff = 0, rawDiff = 0;
      for (const r of ranks) diff = Math.max(diff, Math.abs(r.score - sigmoid(expected[r.index])));
      for (const r of raw) rawDiff = Math.max(rawDiff, Math.abs(r.score - expected[r.index]));
      console.log(
        `reranker: logits ${expected.map((x) => x.toFixed(4)).join(" ")}; smallest gap ` +
          `${Math.min(...gaps).toExponential(2)}; max diff sigmoid ${diff.toExponential(2)}, raw ${
            rawDiff.toExponential(2)
          }`,
      );
      // measured 6.0e-8 (sigmoid) and 2.4e-7 (logits)
      assert(diff < 5e-7 && rawDiff < 1e-6, `max diff ${diff} / ${rawDiff}`);
      assert(Math.min(...gaps) > 1e-5, "the order is decided by more than float noise");
    } finally {
      await reranker.close();
    }
  },
});

const SST2 = "models/embedge-mini-sst2";
const ignoreSst2 = !hasShared(`${SST2}/onnx/model.onnx`);

Deno.test({
  name: "rerank: embedge-mini-sst2 ranked by its positive logit, through classify's pair path",
  ignore: ignoreSst2,
  async fn() {
    const classifier = await TextClassifier.load(shared(SST2), { backend: "native" });
    try {
      const query = "the film";
      const texts = [
        "was dull and far too long .",
        "was wonderful .",
        "was fine .",
        "i hated it .",
      ];
      await assertRejects(() => classifier.rerank(query, texts), InputError, "a reranker has one");
      const pairs = texts.map((t): [string, string] => [query, t]);
      const { data } = await classifier.logits(pairs);
      const positive = texts.map((_, i) => data[i * 2 + 1]);
      const ranks = await classifier.rerank(query, texts, { label: "positive", rawScores: true });
      assertEquals(ranks.map((r) => r.score), [...positive].sort((a, b) => b - a));
      assertEquals(ranks.map((r) => positive[r.index]), ranks.map((r) => r.score));
      assertEquals(ranks[0].index, 1); // "was wonderful ." first
      assert(ranks.findIndex((r) => r.index === 0) > ranks.findIndex((r) => r.index === 2));
      const sig = await classifier.rerank(query, texts, { label: 1, topK: 2 });
      assertEquals(sig.length, 2);
      sig.forEach((r, k) => assertAlmostEquals(r.score, sigmoid(ranks[k].score), 1e-12));
      // the pair's second text is what is ranked: the same texts alone score otherwise
      const alone = await classifier.logits(texts);
      assert(Math.abs(alone.data[1] - positive[0]) > 1e-3);
      await assertRejects(
        () => classifier.rerank(query, texts, { label: 1, topK: 0 }),
        InputError,
        "topK",
      );
      // TEI's truncate: a pair over the model's 128 tokens is cut, or refused when off
      const long = "a very good film . ".repeat(40);
      const [cut] = await classifier.rerank(query, [long], { label: 1, rawScores: true });
      const cutLogits = await classifier.logits([[query, long]]);
      assertEquals(cutLogits.tokenCounts[0], 128);
      assertEquals(cut.score, cutLogits.data[1]);
      await assertRejects(
        () => classifier.rerank(query, [long], { label: 1, truncate: false }),
        InputTooLongError,
        "the limit is 128",
      );
    } finally {
      await classifier.close();
    }
  },
});
