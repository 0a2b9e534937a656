/**
 * Real trained weights, picked up from every `../shared/models/<name>/onnx/model.onnx`:
 *
 * - where the model ships `pytorch_reference.json` (embedge-mini-mlm does), embedge's
 *   `[CLS]`, mean and pooler vectors equal PyTorch's for the same ids, each input alone
 *   and all of them in one right-padded batch (max abs diff ≤ 1e-4), and so are `[CLS]` and
 *   mean after every encoder layer (`layers`);
 * - embeddings equal onnxruntime-node's on the same tensors (relative 1e-5);
 * - embeddings equal transformers.js feature-extraction (mean + normalize) within 1e-4
 *   on big.txt lines that fit the model's max length. Longer lines are left out of that
 *   comparison on purpose: transformers.js 4.3.1 truncates to `model_max_length` and
 *   drops the final `[SEP]` (its last id is a word piece where HF `tokenizers` ends in
 *   102). embedge's truncation is checked against HF `tokenizers` itself instead;
 * - cosine("I love Paris.", "I adore Paris.") > cosine("I love Paris.", "I hate traffic.").
 *
 * Embedding models go through the checks above. A model whose config names a
 * `…ForSequenceClassification` head (embedge-mini-sst2) has no token vectors: it is checked as
 * a classifier (`TextClassifier`) instead —
 *
 * - its logits equal PyTorch's (`pytorch_reference.json`) within 1e-5 on every engine that
 *   runs it, each input alone and all in one right-padded batch (embedge's kernels refuse the
 *   head, so the WASM backend runs onnxruntime-web, and says why);
 * - its label scores equal transformers.js's `text-classification` pipeline (top_k null) on
 *   big.txt lines, and its logits on text pairs equal transformers.js's model fed its
 *   tokenizer's `text_pair` encoding (the pipeline itself takes no pairs), within 1e-5;
 * - its accuracy over the whole shared `datasets/sst2/dev.tsv` equals PyTorch's
 *   (`embedge_training.shared_dev_accuracy` in config.json) to the printed precision.
 *
 * embedge-mini-mlm is required under `CI=true` (tests/support/paths.ts).
 */
import * as ortNode from "onnxruntime-node";
import { assert, assertEquals } from "./support/assert.ts";
import { hasShared, shared } from "./support/paths.ts";
import { loadOracle } from "./support/oracle.ts";
import { Embedder } from "../src/model/embedder.ts";
import { TextClassifier } from "../src/model/classify/text_classifier.ts";
import type { Pooling } from "../src/model/pooling.ts";
import { cosine } from "../src/model/similarity.ts";

const REFERENCE_MODEL = "embedge-mini-mlm";
// Throws under CI=true when the trained model is missing: a skipped check is no check.
hasShared(`models/${REFERENCE_MODEL}/onnx/model.onnx`);

/** A model's config.json (`{}` when absent or unreadable). */
function configOf(name: string): Record<string, unknown> {
  try {
    return JSON.parse(Deno.readTextFileSync(shared(`models/${name}/config.json`)));
  } catch {
    return {};
  }
}

/**
 * Whether a model directory holds an embedding model (an encoder whose graph gives token
 * vectors) rather than a model with a task head: a config naming a `…ForSequenceClassification`,
 * `…ForMaskedLM` or other `…For…` architecture is a head model, checked by its own tests.
 */
function isEmbeddingModel(name: string): boolean {
  const architectures = (configOf(name).architectures ?? []) as string[];
  return !architectures.some((a) => /For[A-Z]/.test(a)); // no config: the loader decides
}

/** Whether a model directory holds a sequence-classification model. */
function isClassifierModel(name: string): boolean {
  const architectures = (configOf(name).architectures ?? []) as string[];
  return architectures.some((a) => a.endsWith("ForSequenceClassification"));
}

const models: string[] = [];
const classifiers: string[] = [];
try {
  for (const d of Deno.readDirSync(shared("models"))) {
    try {
      Deno.statSync(shared(`models/${d.name}/onnx/model.onnx`));
      if (isEmbeddingModel(d.name)) models.push(d.name);
      else if (isClassifierModel(d.name)) classifiers.push(d.name);
    } catch { /* no weights */ }
  }
} catch { /* no shared models */ }

const lines = (() => {
  try {
    return Deno.readTextFileSync(shared("corpus/big.txt")).split("\n").filter((l) =>
      l.trim().length > 20
    );
  } catch {
    return [];
  }
})();

if (models.length === 0) {
  Deno.test({
    name: "real weights: none under ../shared/models/*/onnx/model.onnx",
    ignore: true,
    fn() {},
  });
}

/** Largest absolute difference of two equal-length vectors. */
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertEquals(a.length, b.length, "vector lengths");
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

interface ReferenceVectors {
  input_ids: number[];
  cls: number[];
  mean: number[];
  pooler: number[];
  layers: { cls: number[]; mean: number[] }[];
}

for (const name of models) {
  const dir = shared(`models/${name}`);
  const referencePath = `${dir}/pytorch_reference.json`;
  const reference = (() => {
    try {
      return JSON.parse(Deno.readTextFileSync(referencePath)) as {
        alone: ReferenceVectors[];
        padded_batch: ReferenceVectors[];
      };
    } catch {
      return null;
    }
  })();

  if (reference) {
    // every engine: onnxruntime-node, embedge's WASM kernels, onnxruntime-web
    const engines = [
      ["native", true, "onnxruntime-node"],
      ["wasm", true, "embedge-kernels"],
      ["wasm", false, "onnxruntime-web"],
    ] as const;
    for (const [backend, kernels, engine] of engines) {
      Deno.test(`real weights ${name} (${engine}): [CLS], mean and pooler equal PyTorch's within 1e-4, alone and in a padded batch`, async () => {
        const e = await Embedder.load(dir, { backend, kernels });
        assertEquals([e.info.backend, e.info.engine], [backend, engine]);
        // The reference ids carry [CLS] … [SEP]; embed() wraps bare ids itself.
        const bodies = reference.alone.map((r) => r.input_ids.slice(1, -1));
        for (const r of reference.alone) {
          assertEquals(r.input_ids[0], e.tokenizer.tokenToId("[CLS]"));
          assertEquals(r.input_ids.at(-1), e.tokenizer.tokenToId("[SEP]"));
        }
        let compared = 0;
        for (
          const [mode, refs] of [["alone", reference.alone], [
            "padded",
            reference.padded_batch,
          ]] as const
        ) {
          for (const pooling of ["cls", "mean", "pooler"] as const satisfies readonly Pooling[]) {
            let batches = 0;
            const ours = mode === "alone"
              ? await Promise.all(bodies.map((b) => e.embed([b], { pooling, normalize: false })))
                .then((rs) => rs.map((r) => r.data))
              : await e.embed(bodies, {
                pooling,
                normalize: false,
                // all four rows in one session.run, padded to the longest, as PyTorch ran them
                maxPaddingWaste: Infinity,
                onProgress: () => batches++,
              }).then((r) =>
                Array.from(
                  { length: bodies.length },
                  (_, i) => r.data.subarray(i * r.dims[1], (i + 1) * r.dims[1]),
                )
              );
            if (mode === "padded") assertEquals(batches, 1, "the padded batch ran as one batch");
            refs.forEach((ref, i) => {
              const d = maxAbsDiff(ours[i], ref[pooling]);
              assert(d <= 1e-4, `${mode} input ${i} ${pooling}: max abs diff ${d}`);
              compared++;
            });
          }
        }
        assertEquals(compared, 2 * 3 * reference.alone.length);
        await e.close();
      });

      Deno.test(`real weights ${name} (${engine}): [CLS] and mean after every layer equal PyTorch's within 1e-4`, async () => {
        const e = await Embedder.load(dir, { backend, kernels });
        assertEquals(e.info.engine, engine);
        const layers = reference.alone[0].layers.length - 1;
        assertEquals(e.info.layers, layers);
        assert(e.info.layerStates, "the exported graph's layers are found");
        const bodies = reference.alone.map((r) => r.input_ids.slice(1, -1));
        let compared = 0;
        for (let k = 0; k <= layers; k++) {
          for (const pooling of ["cls", "mean"] as const) {
            const options = { pooling, normalize: false, layers: [k] };
            for (const [i, ref] of reference.alone.entries()) {
              const ours = await e.embed([bodies[i]], options);
              const d = maxAbsDiff(ours.data, ref.layers[k][pooling]);
              assert(d <= 1e-4, `alone input ${i} layer ${k} ${pooling}: max abs diff ${d}`);
              compared++;
            }
            // the same layer from the end, all four in one padded batch
            const batch = await e.embed(bodies, {
              ...options,
              layers: [k - layers - 1],
              maxPaddingWaste: Infinity,
            });
            for (const [i, ref] of reference.padded_batch.entries()) {
              const row = batch.data.subarray(i * batch.dims[1], (i + 1) * batch.dims[1]);
              const d = maxAbsDiff(row, ref.layers[k][pooling]);
              assert(d <= 1e-4, `padded input ${i} layer ${k} ${pooling}: max abs diff ${d}`);
              compared++;
            }
          }
        }
        assertEquals(compared, (layers + 1) * 2 * 2 * reference.alone.length);
        await e.close();
      });
    }
  }

  Deno.test(`real weights ${name}: the WASM backend (embedge's kernels) equals onnxruntime-node within 1e-5`, async () => {
    const e = await Embedder.load(dir, { backend: "wasm" });
    assertEquals(e.info.engine, "embedge-kernels");
    const native = await ortNode.InferenceSession.create(`${dir}/onnx/model.onnx`);
    const b = e.tokenizer.encodeBatch(lines.slice(0, 32), {
      maxLength: e.info.maxLength,
      truncation: true,
    });
    const dims = [b.batchSize, b.sequenceLength];
    const feeds: Record<string, ortNode.Tensor> = {
      input_ids: new ortNode.Tensor("int64", b.inputIds, dims),
      attention_mask: new ortNode.Tensor("int64", b.attentionMask, dims),
    };
    if (e.info.hasTokenTypes) {
      feeds.token_type_ids = new ortNode.Tensor("int64", b.tokenTypeIds, dims);
    }
    const out = await native.run(feeds);
    const n = out[e.session.hiddenOutput].data as Float32Array;
    const w = await e.session.run(
      b.inputIds,
      b.attentionMask,
      b.tokenTypeIds,
      b.batchSize,
      b.sequenceLength,
    );
    let maxAbs = 0;
    for (let i = 0; i < n.length; i++) maxAbs = Math.max(maxAbs, Math.abs(n[i]));
    const maxDiff = maxAbsDiff(n, w.hidden);
    assert(maxDiff / maxAbs < 1e-5, `relative difference ${maxDiff / maxAbs}`);
    await e.close();
  });

  Deno.test(`real weights ${name}: truncation to the model's max length gives HF tokenizers' ids`, async () => {
    const e = await Embedder.load(dir);
    const max = e.info.maxLength;
    const oracle = loadOracle(Deno.readTextFileSync(`${dir}/tokenizer.json`));
    oracle.setTruncation(max);
    // every big.txt paragraph longer than the model's positions: the ones a truncating
    // peer gets wrong when it drops the final [SEP]
    const long = lines.filter((l) => e.tokenizer.encode(l).ids.length > max);
    assert(long.length >= 50, `only ${long.length} long lines to compare`);
    let compared = 0;
    for (const text of long) {
      const theirs = (await oracle.encode(text)).getIds();
      const ours = e.tokenizer.encode(text, { maxLength: max, truncation: true }).ids;
      assertEquals(Array.from(ours), theirs, `ids of ${JSON.stringify(text.slice(0, 60))}…`);
      assertEquals(ours.length, max);
      assertEquals(ours[max - 1], e.tokenizer.tokenToId("[SEP]"));
      compared++;
    }
    assertEquals(compared, long.length);
    await e.close();
  });

  Deno.test(`real weights ${name}: equals transformers.js feature-extraction within 1e-4 (inputs within max length)`, async () => {
    const tf = await import("@huggingface/transformers");
    tf.env.allowRemoteModels = false;
    tf.env.localModelPath = shared("models") + "/";
    const extractor = await tf.pipeline("feature-extraction", name, { dtype: "fp32" });
    const e = await Embedder.load(dir);
    const fitting = lines.filter((l) => e.tokenizer.encode(l).ids.length <= e.info.maxLength)
      .slice(0, 200);
    assertEquals(fitting.length, 200);
    const ours = await e.embed(fitting, { pooling: "mean", normalize: true });
    const theirs = await extractor(fitting, { pooling: "mean", normalize: true });
    assertEquals(theirs.dims, ours.dims);
    const d = maxAbsDiff(theirs.data as Float32Array, ours.data);
    assert(d < 1e-4, `max difference ${d}`);
    await extractor.dispose();
    await e.close();
  });

  Deno.test(`real weights ${name}: love/adore closer than love/hate`, async () => {
    const e = await Embedder.load(dir);
    const v = await e.embed(["I love Paris.", "I adore Paris.", "I hate traffic."]);
    const d = v.dims[1];
    const row = (i: number) => v.data.subarray(i * d, (i + 1) * d);
    assert(cosine(row(0), row(1)) > cosine(row(0), row(2)));
    await e.close();
  });
}

interface ReferenceLogits {
  input_ids: number[];
  logits: number[];
}

for (const name of classifiers) {
  const dir = shared(`models/${name}`);
  const reference = (() => {
    try {
      return JSON.parse(Deno.readTextFileSync(`${dir}/pytorch_reference.json`)) as {
        alone: ReferenceLogits[];
        padded_batch: ReferenceLogits[];
      };
    } catch {
      return null;
    }
  })();

  if (reference) {
    // embedge's kernels refuse a graph ending in a classification head, so the WASM backend
    // with the kernels allowed runs onnxruntime-web too (and the note says why)
    const engines = [
      ["native", true, "onnxruntime-node"],
      ["wasm", true, "onnxruntime-web"],
      ["wasm", false, "onnxruntime-web"],
    ] as const;
    for (const [backend, kernels, engine] of engines) {
      Deno.test(`real weights ${name} (${backend}, kernels ${kernels ? "allowed" : "off"}): logits equal PyTorch's within 1e-5, alone and in a padded batch`, async () => {
        const c = await TextClassifier.load(dir, { backend, kernels });
        assertEquals([c.info.backend, c.info.engine], [backend, engine]);
        if (backend === "wasm" && kernels) {
          assert(
            c.info.engineNote?.startsWith(
              "the kernels run BERT encoders, not the classification head",
            ) && c.info.engineNote.includes("logits"),
            `engineNote: ${c.info.engineNote}`,
          );
        }
        // the reference ids are whole words between [CLS] and [SEP]: their text, which must
        // tokenize back to exactly those ids
        const texts = reference.alone.map((r) =>
          c.tokenizer.convertIdsToTokens(Int32Array.from(r.input_ids.slice(1, -1))).join(" ")
        );
        texts.forEach((t, i) =>
          assertEquals(Array.from(c.tokenizer.encode(t).ids), reference.alone[i].input_ids)
        );
        let runs = 0;
        const run = c.session.run;
        c.session.run = (...args) => (runs++, run(...args));
        const alone = await Promise.all(texts.map((t) => c.logits([t]).then((l) => l.data)));
        assertEquals(runs, texts.length);
        const padded = await c.logits(texts);
        assertEquals(runs, texts.length + 1, "the padded batch ran as one batch");
        // measured: 2.4e-7 on onnxruntime-node, 6.0e-7 on onnxruntime-web
        let worst = 0;
        const compare = (
          mode: string,
          ours: ArrayLike<number>,
          ref: ReferenceLogits,
          i: number,
        ) => {
          const d = maxAbsDiff(ours, ref.logits);
          assert(d <= 1e-5, `${mode} input ${i}: max abs diff ${d}`);
          worst = Math.max(worst, d);
        };
        reference.alone.forEach((ref, i) => compare("alone", alone[i], ref, i));
        const labels = padded.dims[1];
        reference.padded_batch.forEach((ref, i) =>
          compare("padded", padded.data.subarray(labels * i, labels * (i + 1)), ref, i)
        );
        console.log(`${name} ${engine}: max abs diff to PyTorch ${worst.toExponential(2)}`);
        await c.close();
      });
    }
  }

  Deno.test(`real weights ${name}: equals transformers.js text-classification (texts) and its model on text pairs within 1e-5`, async () => {
    const tf = await import("@huggingface/transformers");
    tf.env.allowRemoteModels = false;
    tf.env.localModelPath = shared("models") + "/";
    const c = await TextClassifier.load(dir, { backend: "native" });
    const texts = lines.slice(0, 100).map((l) => l.slice(0, 200));
    assertEquals(texts.length, 100);
    const pipeline = await tf.pipeline("text-classification", name, { dtype: "fp32" });
    const theirs = await pipeline(texts, { top_k: null }) as { label: string; score: number }[][];
    const ours = await c.classify(texts);
    let worst = 0;
    ours.forEach((ranked, i) =>
      ranked.forEach((l, k) => {
        assertEquals(l.label, theirs[i][k].label, `text ${i} rank ${k}`);
        worst = Math.max(worst, Math.abs(l.score - theirs[i][k].score));
      })
    );
    assert(worst <= 1e-5, `texts: max score difference ${worst}`);
    // the pipeline takes no pairs in this version: its tokenizer's text_pair and its model
    const firsts = texts.slice(0, 8), seconds = texts.slice(8, 16);
    const model = await tf.AutoModelForSequenceClassification.from_pretrained(name, {
      dtype: "fp32",
    });
    const encoded = pipeline.tokenizer(firsts, { text_pair: seconds, padding: true });
    const pairLogits = (await model(encoded)).logits.data as Float32Array;
    const ourPairs = await c.logits(firsts.map((a, i) => [a, seconds[i]] as [string, string]));
    const d = maxAbsDiff(ourPairs.data, pairLogits);
    assert(d <= 1e-5, `pairs: max logit difference ${d}`);
    console.log(
      `${name}: transformers.js max diff ${worst.toExponential(2)} (scores), ${
        d.toExponential(2)
      } (pair logits)`,
    );
    await pipeline.dispose();
    await model.dispose();
    await c.close();
  });

  const accuracy = (configOf(name).embedge_training as { shared_dev_accuracy?: number })
    ?.shared_dev_accuracy;
  if (accuracy !== undefined && hasShared("datasets/sst2/dev.tsv")) {
    Deno.test(`real weights ${name}: accuracy over the shared sst2 dev set equals PyTorch's (${accuracy})`, async () => {
      const rows = Deno.readTextFileSync(shared("datasets/sst2/dev.tsv")).split("\n").slice(1)
        .filter((l) => l.trim()).map((l) => l.split("\t"));
      assertEquals(rows.length, 6735);
      const c = await TextClassifier.load(dir, { backend: "native" });
      const started = performance.now();
      // one call: sorted by length and run in batches of 16,384 cells (18 s here, busy)
      const ranked = await c.classify(rows.map((r) => r[0]), { topK: 1 });
      const seconds = (performance.now() - started) / 1000;
      const correct = ranked.filter((r, i) => r[0].label === c.info.labels[Number(rows[i][1])])
        .length;
      const decimals = String(accuracy).split(".")[1]?.length ?? 0;
      console.log(
        `${name}: dev accuracy ${correct}/${rows.length} = ${
          (correct / rows.length).toFixed(6)
        } in ${seconds.toFixed(1)} s`,
      );
      assertEquals((correct / rows.length).toFixed(decimals), accuracy.toFixed(decimals));
      await c.close();
    });
  }
}
