/**
 * The generated BERT's task heads (src/model/fixtures/generated_bert.ts), as Hugging Face exports
 * them: onnxruntime-node's `logits` against the float64 reference forward pass
 * (tests/support/bert_reference.ts), for a sequence-classification head (two labels, and
 * one: a reranker) and a masked-LM head, on a padded batch with token types 0 and 1.
 */
import { assert, assertEquals } from "./support/assert.ts";
import {
  referenceClassifierLogits,
  referenceForward,
  referenceMaskedLmLogits,
} from "./support/bert_reference.ts";
import { bertOnnx, type BertShape, bertWeights } from "../src/model/fixtures/generated_bert.ts";
import { createLogitsSession } from "../src/model/engine/logits_session.ts";

const SHAPE: BertShape = { vocabSize: 500, hidden: 32, layers: 2, heads: 4, intermediate: 64 };
// three rows, the last two padded; the first a pair (token types 0 then 1)
const IDS = [[101, 7, 8, 102, 9, 10, 102], [101, 40, 41, 42, 102, 0, 0], [101, 3, 102, 0, 0, 0, 0]];
const MASK = IDS.map((row, b) => row.map((_, s) => (b === 0 || s < [7, 5, 3][b] ? 1 : 0)));
const TYPES = IDS.map((row, b) => row.map((_, s) => (b === 0 && s >= 4 ? 1 : 0)));

const int64 = (rows: number[][]) => BigInt64Array.from(rows.flat().map(BigInt));

/** Runs the graph on native onnxruntime; the logits and their last dimension. */
async function runLogits(shape: BertShape, rank: 2 | 3) {
  const weights = bertWeights(shape);
  const session = await createLogitsSession(bertOnnx(weights), { backend: "native", rank });
  try {
    assertEquals(session.outputNames, ["logits"]); // the head's output only, as HF exports
    const out = await session.run(int64(IDS), int64(MASK), int64(TYPES), 3, 7);
    return { weights, ...out };
  } finally {
    await session.release();
  }
}

for (const labels of [2, 1]) {
  Deno.test(`generated heads: sequence classification with ${labels} label(s) equals the float64 reference`, async () => {
    const { weights, logits, labels: width } = await runLogits(
      { ...SHAPE, head: "sequence-classification", labels },
      2,
    );
    assertEquals(width, labels);
    const expected = referenceClassifierLogits(
      weights,
      referenceForward(weights, IDS, MASK, TYPES),
    );
    let diff = 0, spread = 0;
    expected.flat().forEach((x, i) => {
      diff = Math.max(diff, Math.abs(logits[i] - x));
      spread = Math.max(spread, Math.abs(x));
    });
    console.log(
      `classification (${labels}): max |logit| ${spread.toFixed(3)}, max diff ${
        diff.toExponential(2)
      }`,
    );
    assert(diff < 1e-6, `max diff ${diff}`); // measured 1.8e-7 (2 labels), 2.4e-7 (1)
  });
}

Deno.test("generated heads: the masked-LM head (decoder tied to the word embeddings) equals the float64 reference", async () => {
  const { weights, logits, labels: vocab } = await runLogits({ ...SHAPE, head: "masked-lm" }, 3);
  assertEquals(vocab, SHAPE.vocabSize);
  const expected = referenceMaskedLmLogits(weights, referenceForward(weights, IDS, MASK, TYPES));
  let diff = 0, spread = 0;
  expected.flat(2).forEach((x, i) => {
    diff = Math.max(diff, Math.abs(logits[i] - x));
    spread = Math.max(spread, Math.abs(x));
  });
  console.log(`masked LM: max |logit| ${spread.toFixed(3)}, max diff ${diff.toExponential(2)}`);
  assert(diff < 1e-5, `max diff ${diff}`); // measured 4.6e-6 on logits up to 18.8
});

Deno.test("generated heads: a head leaves the encoder's weights as they are without one", () => {
  const plain = bertWeights(SHAPE);
  for (const head of ["sequence-classification", "masked-lm"] as const) {
    const headed = bertWeights({ ...SHAPE, head });
    assertEquals(headed.wordEmb, plain.wordEmb);
    assertEquals(headed.poolB, plain.poolB); // the last encoder weights drawn
  }
});
