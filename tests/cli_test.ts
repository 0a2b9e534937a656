/**
 * The command-line tools, run as subprocesses: the walkthrough's JSON, the demo-model
 * fallback note, batch JSONL from stdin, and error exits.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { hasShared, shared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");
const deno = Deno.execPath();
const bin = (name: string) => new URL(`../bin/${name}`, import.meta.url).pathname;

async function run(
  args: string[],
  stdin = "",
): Promise<{ code: number; out: string; err: string }> {
  const p = new Deno.Command(deno, {
    args: ["run", "-A", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const { code, stdout, stderr } = await p.output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test({
  name: "embed --json walks through 'I love Paris.' on a model directory",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 3, layers: 1 });
    const r = await run([
      bin("embed.ts"),
      "--model",
      model.dir,
      "--json",
      "--pad-to",
      "7",
      "--words",
      "I love Paris",
    ]);
    assertEquals(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assertEquals(j.paddedTokens, ["[CLS]", "i", "love", "paris", "[SEP]", "[PAD]", "[PAD]"]);
    assertEquals(j.inputIds, [101, 1045, 2293, 3000, 102, 0, 0]);
    assertEquals(j.attentionMask, [1, 1, 1, 1, 1, 0, 0]);
    assertEquals(j.outputShape, [1, 5, 32]);
    assertEquals(j.words.map((w: { word: string }) => w.word), ["I", "love", "Paris"]);
    assertEquals(j.sentenceVector.length, 32);
  },
});

Deno.test({
  name: "embed falls back to the generated demo model with a clear note; --file - gives JSONL",
  ignore,
  async fn() {
    const r = await run(
      [bin("embed.ts"), "--model", shared("models/all-MiniLM-L6-v2"), "--file", "-"],
      "I love Paris.\nI hate traffic.\n",
    );
    assertEquals(r.code, 0, r.err);
    assert(r.err.includes("no onnx/model.onnx") && r.err.includes("random weights"), r.err);
    const rows = r.out.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(rows.map((x) => x.line), [1, 2]);
    assertEquals(rows[0].embedding.length, 32);
  },
});

Deno.test({
  name: "embed and tokenize exit 2 with the error code and field on bad input",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 3, layers: 1 });
    const r = await run([bin("embed.ts"), "--model", model.dir, "--pooling", "median", "x"]);
    assertEquals(r.code, 2);
    assert(r.err.includes("invalid_input") && r.err.includes("pooling"), r.err);
    const t = await run([bin("tokenize.ts"), "--model", "/nonexistent", "x"]);
    assertEquals(t.code, 2);
    assert(t.err.includes("model"), t.err);
  },
});

Deno.test({
  name:
    "embed --layers reads the chosen layers (JSON and --file); bad layers or flags exit 2 in one line",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 3, layers: 2 });
    const { Embedder } = await import("../src/model/embedder.ts");
    const e = await Embedder.load(model.dir);
    const expected = await e.embed(["I love Paris"], { layers: [-3, -1], layerMix: "concat" });
    const close = (a: number[], b: Float32Array) =>
      a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-6);
    // `--layers -3,-1` (the parser would read -3 as an option without embed's help)
    const r = await run([
      bin("embed.ts"),
      "--model",
      model.dir,
      "--json",
      "--layers",
      "-3,-1",
      "--layer-mix",
      "concat",
      "I love Paris",
    ]);
    assertEquals(r.code, 0, r.err);
    assert(close(JSON.parse(r.out).sentenceVector, expected.data), "--json vector");
    const f = await run(
      [
        bin("embed.ts"),
        "--model",
        model.dir,
        "--layers=-3,-1",
        "--layer-mix=concat",
        "--file",
        "-",
      ],
      "I love Paris\n",
    );
    assertEquals(f.code, 0, f.err);
    assert(close(JSON.parse(f.out).embedding, expected.data), "--file vector");
    await e.close();
    for (
      const [args, needle] of [
        [["--layers=3"], "layers[0]"],
        [["--layers=-1,x"], "layers[1]"],
        [["--layers=-2,-1", "--layer-mix", "sum"], "layerMix"],
        [["--no-such-flag"], "no-such-flag"],
      ] as [string[], string][]
    ) {
      const bad = await run([bin("embed.ts"), "--model", model.dir, ...args, "x"]);
      assertEquals(bad.code, 2, bad.err);
      assert(bad.err.includes(needle), bad.err);
      assertEquals(bad.err.trim().split("\n").length, 1, bad.err);
    }
  },
});

Deno.test({
  name:
    "CLIs: --help for every command, and a user's mistake is one line and exit 2, never a stack trace",
  ignore,
  async fn() {
    for (
      const cli of ["embed.ts", "tokenize.ts", "classify.ts", "worker_assets.ts", "quantize.ts"]
    ) {
      const h = await run([bin(cli), "--help"]);
      assertEquals(h.code, 0, `${cli}: ${h.err}`);
      assert(h.out.startsWith("usage:"), `${cli}: ${h.out}`);
    }
    const mistakes: [string[], string][] = [
      [[bin("embed.ts"), "--onnx-file", "x"], "onnx-file"],
      [[bin("tokenize.ts"), "--frob", "4"], "frob"],
      [[bin("embed.ts"), "--model", "/nonexistent", "x"], "no model directory at /nonexistent"],
      [[bin("embed.ts"), "--model", shared("corpus"), "x"], "no tokenizer.json or vocab.txt"],
      [[bin("classify.ts"), "predict", "--classifier", "/nonexistent.json", "x"], "nonexistent"],
      [[bin("classify.ts"), "frob"], "unknown command"],
      [[bin("worker_assets.ts"), "/nonexistent", "/tmp/embedge-never"], "nonexistent"],
      [[bin("worker_assets.ts")], "usage"],
      [[bin("quantize.ts")], "--model is required"],
      [[bin("quantize.ts"), "--model", "/nonexistent"], "cannot read /nonexistent/onnx/model.onnx"],
      [[bin("quantize.ts"), "--model", shared("corpus"), "--check", "-1"], "--check"],
    ];
    for (const [args, needle] of mistakes) {
      const r = await run(args);
      const what = args.slice(1).join(" ");
      assertEquals(r.code, 2, `${what}: ${r.err}`);
      const lines = r.err.trim().split("\n").filter((l) => !l.startsWith("note:"));
      assertEquals(lines.length, 1, `${what}: ${r.err}`);
      assert(lines[0].includes(needle) && !r.err.includes("    at "), `${what}: ${r.err}`);
    }
    // a vocab-only directory gets the demo model around its vocabulary, with a note
    const v = await run([
      bin("embed.ts"),
      "--model",
      shared("models/bert-base-uncased"),
      "--json",
      "x",
    ]);
    assertEquals(v.code, 0, v.err);
    assert(v.err.includes("no onnx/model.onnx"), v.err);
    // tokenize: --pad-to pads the walkthrough's row, --max-length cuts the tokens
    const t = await run([
      bin("tokenize.ts"),
      "--json",
      "--pad-to",
      "4",
      "--max-length",
      "3",
      "I love Paris",
    ]);
    assertEquals(t.code, 0, t.err);
    const j = JSON.parse(t.out);
    assertEquals(j.tokens, ["[CLS]", "i", "[SEP]"]);
    assertEquals(j.inputIds, [101, 1045, 2293, 102]);
  },
});

Deno.test({
  name:
    "embed --file keeps line numbers, says which lines it skipped, and honours --text, --words and --json",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 3, layers: 1 });
    const input = "I love Paris.\n\n   \nUnaffable Paris\n";
    const r = await run(
      [bin("embed.ts"), "--model", model.dir, "--file", "-", "--text", "--words"],
      input,
    );
    assertEquals(r.code, 0, r.err);
    assertEquals(r.err.includes("\r"), false, "no progress frames into a pipe");
    const rows = r.out.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(rows.map((x) => x.line), [1, 2, 3, 4]);
    assertEquals(rows.map((x) => x.text), ["I love Paris.", "", "   ", "Unaffable Paris"]);
    assertEquals([rows[1].embedding, rows[1].skipped], [null, "empty line"]);
    assertEquals(rows[2].embedding, null);
    assertEquals(rows[3].words.map((w: { word: string }) => w.word), ["Unaffable", "Paris"]);
    assertEquals(rows[0].embedding.length, 32);
    // --json: one JSON array of the same rows
    const j = await run([bin("embed.ts"), "--model", model.dir, "--file", "-", "--json"], input);
    assertEquals(j.code, 0, j.err);
    const all = JSON.parse(j.out);
    assertEquals(all.map((x: { line: number }) => x.line), [1, 2, 3, 4]);
    assertEquals(all[0].embedding, rows[0].embedding);
  },
});
