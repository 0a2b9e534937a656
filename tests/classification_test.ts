/**
 * Sequence-classification models (src/model/classify/): the score functions, `TextClassifier`
 * on the real fine-tuned embedge-mini-sst2 (single texts, pairs, `topK`, functions,
 * truncation and its refusals, the model-kind refusals both ways), the `predict` CLI and
 * TEI's `/predict` route. Logits against PyTorch and the dev-set accuracy are in
 * real_model_test.ts.
 */
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./support/assert.ts";
import { hasShared, shared } from "./support/paths.ts";
import { rankLabels, scoreRows } from "../src/model/classify/scores.ts";
import { TextClassifier } from "../src/model/classify/text_classifier.ts";
import { Embedder } from "../src/model/embedder.ts";
import { InputError, InputTooLongError, ModelLoadError } from "../src/errors.ts";

const SST2 = "models/embedge-mini-sst2";
const ignore = !hasShared(`${SST2}/onnx/model.onnx`);
const dir = shared(SST2);

Deno.test("scores: softmax runs over each row's labels, sigmoid per logit, none keeps the logits", () => {
  // two rows whose column-wise softmax would differ from the row-wise one
  const logits = Float32Array.of(1, 2, 3, 5);
  const soft = scoreRows(logits, 2, "softmax");
  const e = (a: number, b: number) => Math.exp(a) / (Math.exp(a) + Math.exp(b));
  [e(1, 2), e(2, 1), e(3, 5), e(5, 3)].forEach((x, i) => assertAlmostEquals(soft[i], x, 1e-12));
  // large logits do not overflow
  assertAlmostEquals(scoreRows(Float32Array.of(1000, 0), 2, "softmax")[0], 1, 1e-12);
  const sig = scoreRows(logits, 2, "sigmoid");
  assertAlmostEquals(sig[3], 1 / (1 + Math.exp(-5)), 1e-12);
  assertEquals(Array.from(scoreRows(logits, 2, "none")), [1, 2, 3, 5]);
  const ranked = rankLabels(soft, 2, ["a", "b"], 1);
  assertEquals(ranked.map((r) => r.map((l) => l.label)), [["b"], ["b"]]);
});

Deno.test({
  name: "TextClassifier: labels from id2label, sorted by score; pairs, topK and functions",
  ignore,
  async fn() {
    const classifier = await TextClassifier.load(dir, { backend: "native" });
    try {
      assertEquals(classifier.info.labels, ["negative", "positive"]);
      assertEquals(classifier.info.defaultFunction, "softmax");
      const [love, hate] = await classifier.classify(["i love paris .", "i hate traffic ."]);
      assertEquals(love.map((l) => l.label), ["positive", "negative"]);
      assertEquals(hate.map((l) => l.label), ["negative", "positive"]);
      assertAlmostEquals(love[0].score + love[1].score, 1, 1e-12);
      // PyTorch's logits of "i love paris ." are (-1.7620, 1.9935): softmax 0.97715
      assertAlmostEquals(love[0].score, 1 / (1 + Math.exp(-(1.9935259 + 1.7620403))), 1e-5);
      const pair: [string, string] = ["i love paris .", "i hate traffic ."];
      const { data, tokenCounts } = await classifier.logits([pair, pair[0]]);
      assertEquals(Array.from(tokenCounts), [11, 6]); // [CLS] 4 [SEP] 4 [SEP]
      assert(Math.abs(data[0] - data[2]) > 1e-3, "the pair's second text changes the logits");
      const [raw] = await classifier.classify([pair], { function: "none", topK: 1 });
      assertEquals(raw.length, 1);
      assertAlmostEquals(raw[0].score, Math.max(data[0], data[1]), 1e-6);
      const [sig] = await classifier.classify([pair], { function: "sigmoid" });
      assertAlmostEquals(sig[0].score, 1 / (1 + Math.exp(-raw[0].score)), 1e-6);
    } finally {
      await classifier.close();
    }
  },
});

Deno.test({
  name: "TextClassifier: truncation on the right, refused when off or asked on the left",
  ignore,
  async fn() {
    const classifier = await TextClassifier.load(dir, { backend: "native" });
    try {
      const long = "a very good film . ".repeat(60); // 300 tokens, the model takes 128
      const { tokenCounts } = await classifier.logits(["fine", long]);
      assertEquals(Array.from(tokenCounts), [3, 128]);
      const short = await classifier.logits(["fine"], { maxLength: 3 });
      assertEquals(short.tokenCounts[0], 3);
      await assertRejects(
        () => classifier.logits(["fine", long], { truncate: false }),
        InputTooLongError,
        "inputs[1] has 302 tokens; the limit is 128",
      );
      // left is honoured while nothing needs cutting, refused when something does
      const left = await classifier.logits(["fine"], { truncationDirection: "left" });
      assertEquals(Array.from(left.data), Array.from((await classifier.logits(["fine"])).data));
      const refused = await assertRejects(
        () => classifier.logits(["fine", long], { truncationDirection: "left" }),
        InputError,
        "cannot cut on the left",
      );
      assertEquals(refused.param, "truncationDirection");
      for (
        const [call, param] of [
          [() => classifier.classify([]), "inputs"],
          [() => classifier.classify([""]), "inputs[0]"],
          [() => classifier.classify([["a", ""]]), "inputs[0][1]"],
          [() => classifier.classify(["a"], { topK: 0 }), "topK"],
          // deno-lint-ignore no-explicit-any
          [() => classifier.classify(["a"], { function: "tanh" as any }), "function"],
          [() => classifier.classify(["a"], { maxLength: 129 }), "maxLength"],
        ] as const
      ) {
        const e = await assertRejects(call, InputError);
        assertEquals(e.param, param);
      }
    } finally {
      await classifier.close();
    }
  },
});

Deno.test({
  name: "model kinds: Embedder refuses a classifier, TextClassifier an embedding model",
  ignore: ignore || !hasShared("models/embedge-mini-mlm/onnx/model.onnx"),
  async fn() {
    await assertRejects(
      () => Embedder.load(dir, { backend: "native" }),
      ModelLoadError,
      "this is a sequence-classification model",
    );
    await assertRejects(
      () => TextClassifier.load(shared("models/embedge-mini-mlm"), { backend: "native" }),
      ModelLoadError,
      "load it with Embedder",
    );
  },
});

Deno.test({
  name: "TextClassifier: a config naming more labels than the graph outputs is refused",
  ignore,
  async fn() {
    const files: Record<string, Uint8Array> = {};
    for (const f of ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "onnx/model.onnx"]) {
      files[f] = await Deno.readFile(`${dir}/${f}`);
    }
    const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    config.id2label = { 0: "negative", 1: "neutral", 2: "positive" };
    files["config.json"] = new TextEncoder().encode(JSON.stringify(config));
    await assertRejects(
      () => TextClassifier.load(files, { backend: "native" }),
      ModelLoadError,
      "config.json names 3 labels, the graph outputs 2 logits",
    );
  },
});

/** Runs bin/predict.ts with `args`; its exit code and output. */
async function predict(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const bin = new URL("../bin/predict.ts", import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", bin, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test({
  name: "predict CLI: one line per text and pair, --json, bad input one line and exit 2",
  ignore: ignore || !hasShared("models/embedge-mini-mlm/onnx/model.onnx"),
  async fn() {
    const text = await predict([
      "--model",
      dir,
      "i love paris .",
      "--pair",
      "i hate traffic .",
      "it is slow",
      "--backend",
      "native",
    ]);
    assertEquals(text.code, 0, text.err);
    const lines = text.out.trimEnd().split("\n");
    assertEquals(lines.length, 2);
    assert(/^positive 0\.977\d, negative 0\.022\d\ti love paris \.$/.test(lines[0]), lines[0]);
    assert(lines[1].endsWith("\ti hate traffic . | it is slow"), lines[1]);
    assert(lines[1].startsWith("negative "), lines[1]);

    const json = await predict(["--model", dir, "--json", "--top-k", "1", "i hate traffic ."]);
    assertEquals(json.code, 0, json.err);
    const [row] = JSON.parse(json.out);
    assertEquals(row.input, "i hate traffic .");
    assertEquals(row.labels.length, 1);
    assertEquals(row.labels[0].label, "negative");
    // PyTorch's logits of "i hate traffic ." are (0.6395, -0.6281): softmax 0.78033
    assertAlmostEquals(row.labels[0].score, 1 / (1 + Math.exp(-(0.6395354 + 0.6280620))), 1e-5);

    for (
      const [args, message] of [
        [["--model", dir, "--top-k", "0", "a"], "error (invalid_input, topK): topK must be"],
        [["--model", dir, "--pair", "a"], "error: --pair needs two texts"],
        [["--model", dir], "error: give a text"],
        [["--model", shared("models/embedge-mini-mlm"), "a"], "load it with Embedder"],
      ] as const
    ) {
      const bad = await predict([...args]);
      assertEquals(bad.code, 2, `${args.join(" ")}: ${bad.err}`);
      assertEquals(bad.out, "");
      assertEquals(bad.err.trimEnd().split("\n").length, 1, bad.err);
      assert(bad.err.includes(message), bad.err);
    }
  },
});

Deno.test({
  name:
    "TEI /predict (the app's route): a text, a pair and a batch in TEI's shapes; raw_scores; errors 422/413/400",
  ignore,
  async fn() {
    // the app's /predict, with a small batch limit, over the classifier; the embedding
    // model is the shared one of the same family (its routes are not used here)
    const { createApp } = await import("../edge/app.ts");
    const classifier = await TextClassifier.load(dir, { backend: "native" });
    const embedder = await Embedder.load(shared("models/embedge-mini-simcse"));
    const app = createApp(embedder, { log: false, maxInputs: 3, textClassifier: classifier });
    const post = async (body: unknown) => {
      const res = await app.request("/predict", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: res.status, json: await res.json() };
    };
    try {
      const single = await post({ inputs: "i love paris ." });
      assertEquals(single.status, 200);
      assertEquals(single.json.map((p: { label: string }) => p.label), ["positive", "negative"]);
      assertAlmostEquals(single.json[0].score, 0.97715, 1e-5);

      const pair = await post({ inputs: ["i hate traffic .", "it is slow"] });
      const [ranked] = await classifier.classify([["i hate traffic .", "it is slow"]]);
      assertEquals(pair.json, ranked);

      const batch = await post({
        inputs: [["i love paris ."], ["i hate traffic .", "it is slow"]],
        raw_scores: true,
      });
      assertEquals(batch.status, 200);
      assertEquals(batch.json.length, 2);
      // raw scores: PyTorch's logits of "i love paris ." are (-1.7620, 1.9935)
      assertEquals(batch.json[0][0].label, "positive");
      assertAlmostEquals(batch.json[0][0].score, 1.9935259, 1e-5);
      assertAlmostEquals(batch.json[0][1].score, -1.7620403, 1e-5);
      assertEquals(batch.json[1][0].label, "negative");

      const long = "a very good film . ".repeat(60);
      const cut = await post({ inputs: long, truncate: true, truncation_direction: "Right" });
      assertEquals(cut.status, 200);
      // errors in TEI's shape (one error table, errors.ts): 413 Validation for too long an
      // input or too big a batch, 400 Empty for an empty input, 422 Validation otherwise
      for (
        const [body, status, type, message] of [
          [{ inputs: long }, 413, "Validation", "inputs[0] has 302 tokens; the limit is 128"],
          [
            { inputs: long, truncate: true, truncation_direction: "Left" },
            422,
            "Validation",
            "on the left",
          ],
          [{ inputs: ["a", "b", "c"] }, 422, "Validation", "must be a pair of two"],
          [{ inputs: [["a"], ["b"], ["c"], ["d"]] }, 413, "Validation", "4 items; the limit is 3"],
          [{ inputs: [["a", "b", "c"]] }, 422, "Validation", "inputs[0] must be"],
          [{ inputs: "" }, 400, "Empty", "inputs is empty"],
          [{ inputs: "a", raw_scores: "yes" }, 422, "Validation", "raw_scores must be"],
          [{ inputs: "a", truncation_direction: "Up" }, 422, "Validation", "must be Left or Right"],
          [{ text: "a" }, 422, "Validation", "text is not a field"],
          ["{not json", 422, "Validation", "not valid JSON"],
        ] as const
      ) {
        const r = await post(body);
        assertEquals([r.status, r.json.error_type], [status, type], JSON.stringify(body));
        assert(r.json.error.includes(message), `${JSON.stringify(body)}: ${r.json.error}`);
        assertEquals(Object.keys(r.json).sort(), ["error", "error_type", "param", "request_id"]);
      }
    } finally {
      await classifier.close();
      await embedder.close();
    }
  },
});
