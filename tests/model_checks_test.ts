/**
 * A model whose files disagree does not start as if they agreed (load_checks.ts): a config
 * or tokenizer allowing more positions than the graph's table has gives the table's limit
 * with a note; an empty vocabulary and NaN or infinite weights are refused at load; an
 * output that overflows at run time is an error naming the input, never a null vector; a
 * layer-count mismatch names itself when layers are asked for. `info` is built once,
 * after the checks, and frozen.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "./support/assert.ts";
import { hasShared, shared } from "./support/paths.ts";
import { makeTestModel, type TestModel } from "./support/test_model.ts";
import { Embedder } from "../src/model/embedder.ts";
import { bertOnnx } from "../src/model/fixtures/generated_bert.ts";
import { quantizeModel } from "../src/model/onnx/quantize.ts";
import { readGraph } from "../src/model/onnx/graph.ts";
import { maxLengthOf, positionTableRows } from "../src/model/load_checks.ts";
import { InputError, InputTooLongError, ModelLoadError } from "../src/errors.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");
const NO_CACHE = { tokenizerCache: false } as const;

async function editJson(path: string, change: (json: Record<string, unknown>) => void) {
  const json = JSON.parse(await Deno.readTextFile(path));
  change(json);
  await Deno.writeTextFile(path, JSON.stringify(json));
}

/** A generated model with its weights changed by `change` (the ONNX file rewritten). */
async function withWeights(
  shape: Parameters<typeof makeTestModel>[0],
  change: (m: TestModel["weights"]) => void,
): Promise<TestModel> {
  const m = await makeTestModel(shape);
  change(m.weights);
  await Deno.writeFile(`${m.dir}/onnx/model.onnx`, bertOnnx(m.weights));
  return m;
}

Deno.test({
  name: "positions: the graph's table (32 rows) wins over config 500 and tokenizer 100000",
  ignore,
  async fn() {
    const m = await makeTestModel({ seed: 11, layers: 1, maxPositions: 32 });
    await editJson(`${m.dir}/config.json`, (c) => c.max_position_embeddings = 500);
    await editJson(`${m.dir}/tokenizer_config.json`, (c) => c.model_max_length = 100000);
    const long = "word ".repeat(200);
    for (const backend of ["native", "wasm"] as const) {
      const e = await Embedder.load(m.dir, { backend, ...NO_CACHE });
      try {
        assertEquals(e.info.maxLength, 32, backend);
        assertEquals(e.info.notes.length, 1);
        for (const part of ["maxLength 32", "500", "100000", "32 rows"]) {
          assert(e.info.notes[0].includes(part), `${part} in ${e.info.notes[0]}`);
        }
        // a 200-token input is cut to the table's 32 positions (it failed inside
        // onnxruntime before: a 500 natively, an error blaming the input on WASM)
        assertEquals((await e.embed([long])).tokenCounts[0], 32, backend);
        await assertRejects(() => e.embed([long], { truncate: false }), InputTooLongError, "32");
        await assertRejects(() => e.embed(["x"], { maxLength: 33 }), InputError, "2..32");
      } finally {
        await e.close();
      }
    }
  },
});

Deno.test({
  name:
    "positions: the table's rows are read from real and generated graphs; agreeing limits give no note",
  ignore: ignore || !hasShared("models/embedge-mini-mlm/onnx/model.onnx"),
  async fn() {
    // the PyTorch export (Range → Unsqueeze → Gather of pos.weight) and embedge's own graph
    const real = readGraph(Deno.readFileSync(shared("models/embedge-mini-mlm/onnx/model.onnx")));
    assertEquals(positionTableRows(real), 128);
    // the opset 18 export of all-MiniLM-L6-v2: Hugging Face's embeddings.position_ids buffer,
    // sliced (its values in external data, absent here: known by its name)
    const minilm = "models/all-MiniLM-L6-v2/onnx-graph-only/model.onnx";
    if (hasShared(minilm)) {
      assertEquals(positionTableRows(readGraph(Deno.readFileSync(shared(minilm)))), 512);
    }
    const m = await makeTestModel({ seed: 12, layers: 1, maxPositions: 64 });
    assertEquals(positionTableRows(readGraph(m.onnx)), 64);
    assertEquals(maxLengthOf({ config: 128, tokenizer: 128, graph: 128 }), { maxLength: 128 });
    assertEquals(maxLengthOf({}), { maxLength: 512 });
    const e = await Embedder.load(shared("models/embedge-mini-mlm"), NO_CACHE);
    assertEquals(e.info.maxLength, 128);
    assertEquals(e.info.notes, []);
    await e.close();
  },
});

Deno.test({
  name:
    "an empty vocabulary (tokenizer.json or vocab.txt of special tokens only) is refused at load",
  ignore,
  async fn() {
    const m = await makeTestModel({ seed: 13, layers: 1 });
    await editJson(`${m.dir}/tokenizer.json`, (t) => (t.model as { vocab: unknown }).vocab = {});
    const json = await assertRejects(
      () => Embedder.load(m.dir, NO_CACHE),
      ModelLoadError,
      "empty vocabulary",
    );
    assertEquals(json.param, "tokenizer.json");
    await Deno.remove(`${m.dir}/tokenizer.json`);
    await Deno.writeTextFile(`${m.dir}/vocab.txt`, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    const txt = await assertRejects(
      () => Embedder.load(m.dir, NO_CACHE),
      ModelLoadError,
      "every word would be [UNK]",
    );
    assertEquals(txt.param, "vocab.txt");
  },
});

Deno.test({
  name: "NaN or infinite weights are refused at load, naming the tensor",
  ignore,
  async fn() {
    const nan = await withWeights({ seed: 14, layers: 1 }, (w) => w.layer[0].w1[5] = NaN);
    const a = await assertRejects(() => Embedder.load(nan.dir, NO_CACHE), ModelLoadError, "NaN");
    assertEquals(a.param, "onnx");
    assert(/the weight \S+ holds/.test(a.message), a.message);
    // quantize refuses them too: an int8 model of NaN weights would answer NaN vectors
    const q = assertThrows(
      () => quantizeModel(Deno.readFileSync(`${nan.dir}/onnx/model.onnx`)),
      ModelLoadError,
    );
    assert(/the model to quantize: the weight \S+ holds a NaN/.test(q.message), q.message);
    const inf = await withWeights({ seed: 14, layers: 1 }, (w) => w.posEmb[40] = Infinity);
    await assertRejects(
      () => Embedder.load(inf.dir, NO_CACHE),
      ModelLoadError,
      "position_embeddings holds a NaN or infinite value (at index 40)",
    );
  },
});

Deno.test({
  name: "outputs that overflow: at load (the probe) a ModelLoadError, at run one naming the input",
  ignore,
  async fn() {
    // finite weights whose attention scores overflow for every input: caught by the probe
    const scores = await withWeights({ seed: 15, layers: 1 }, (w) => {
      w.layer[0].wq.fill(1e30);
      w.layer[0].wk.fill(1e30);
    });
    await assertRejects(() => Embedder.load(scores.dir, NO_CACHE), ModelLoadError, "probe input");
    // an overflow on some inputs only (finite weights can overflow on one token's values;
    // a LayerNorm right after the embeddings makes that hard to build by hand): the
    // session gives NaN in the rows holding "paris", as such a model would
    const paris = 3000;
    const m = await makeTestModel({ seed: 15, layers: 1 });
    for (const backend of ["native", "wasm"] as const) {
      const e = await Embedder.load(m.dir, { backend, ...NO_CACHE });
      const run = e.session.run;
      e.session.run = async (ids, mask, types, batch, seq, states) => {
        const out = await run(ids, mask, types, batch, seq, states);
        for (let r = 0; r < batch; r++) {
          if (ids.subarray(r * seq, (r + 1) * seq).includes(BigInt(paris))) {
            out.hidden[(r * seq + 1) * out.hiddenSize + 3] = NaN;
          }
        }
        return out;
      };
      try {
        assertEquals((await e.embed(["fine words"])).data.every(Number.isFinite), true);
        const err = await assertRejects(
          () => e.embed(["fine words", "I love Paris", "more fine words"]),
          ModelLoadError,
          "inputs[1]",
        );
        assert(err.message.includes("NaN or infinite"), err.message);
        await assertRejects(() => e.embedTokens(["Paris"]), ModelLoadError, "inputs[0]");
      } finally {
        await e.close();
      }
    }
  },
});

Deno.test({
  name: "info is built after the checks and frozen",
  ignore,
  async fn() {
    const m = await makeTestModel({ seed: 16, layers: 1 });
    const e = await Embedder.load(m.dir, NO_CACHE);
    try {
      assert(Object.isFrozen(e.info) && Object.isFrozen(e.info.notes));
      assertEquals(e.info.hiddenSize, 32);
      let refused = false;
      try {
        (e.info as { hiddenSize: number }).hiddenSize = 100000;
      } catch (error) {
        refused = error instanceof TypeError;
      }
      assert(refused, "writing info throws");
      assertEquals(e.info.hiddenSize, 32);
    } finally {
      await e.close();
    }
  },
});

Deno.test({
  name:
    "a corrupted model file (truncated, a scrambled head, a block of 0xff in the weights) is a ModelLoadError naming why, read in JS before onnxruntime",
  ignore,
  async fn() {
    const m = await makeTestModel({ seed: 15, layers: 1 });
    const bytes = Deno.readFileSync(`${m.dir}/onnx/model.onnx`);
    const corruptions: [string, (b: Uint8Array) => Uint8Array][] = [
      ["truncated", (b) => b.slice(0, Math.floor(b.length * 0.6))],
      ["scrambled head", (b) => {
        const c = b.slice();
        for (let k = 16; k < 80; k++) c[k] = (k * 97) & 0xff;
        return c;
      }],
      ["0xff block in the weights", (b) => {
        const c = b.slice();
        c.fill(0xff, Math.floor(c.length / 2), Math.floor(c.length / 2) + 4096);
        return c;
      }],
    ];
    for (const [what, corrupt] of corruptions) {
      await Deno.writeFile(`${m.dir}/onnx/model.onnx`, corrupt(bytes));
      // onnxruntime-node aborted the process on some corrupted files (one SIGABRT in 9
      // starts in the attack probe): the graph is read and checked in JS first
      const e = await assertRejects(
        () => Embedder.load(m.dir, { ...NO_CACHE, backend: "native" }),
        ModelLoadError,
      );
      assert(/not a valid protobuf|NaN or infinite/.test(e.message), `${what}: ${e.message}`);
    }
  },
});
