/**
 * The command-line tools, run as subprocesses: the walkthrough's JSON, the default model
 * (real weights) and the demo model only when asked for, batch JSONL from stdin, several
 * texts and their similarity, a closed pipe, and error exits.
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
  env?: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  // with `env`, the child gets only these variables and the few a process needs: no
  // EMBEDGE_MODEL or cache setting of the caller's leaks in
  const keep = ["HOME", "PATH", "DENO_DIR", "EMBEDGE_SHARED", "TMPDIR"]
    .flatMap((k) => (Deno.env.get(k) !== undefined ? [[k, Deno.env.get(k)!]] : []));
  const p = new Deno.Command(deno, {
    args: ["run", "-A", ...args],
    ...(env ? { clearEnv: true, env: { ...Object.fromEntries(keep), ...env } } : {}),
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
  name: "embed --prompt-name puts the model's prompt before each text; an unknown name exits 2",
  ignore,
  async fn() {
    const prompts = { query: "query: ", passage: "passage: " };
    const model = await makeTestModel({ seed: 3, layers: 1 }, {}, {
      "config_sentence_transformers.json": { prompts },
    });
    const file = [bin("embed.ts"), "--model", model.dir, "--file", "-"];
    const named = await run([...file, "--prompt-name", "query"], "I love Paris.\n");
    const byHand = await run(file, "query: I love Paris.\n");
    assertEquals([named.code, byHand.code], [0, 0], named.err + byHand.err);
    const [n, h] = [JSON.parse(named.out), JSON.parse(byHand.out)];
    assertEquals(n.tokens, h.tokens);
    assertEquals(n.embedding, h.embedding);
    const json = await run([
      bin("embed.ts"),
      "--model",
      model.dir,
      "--prompt-name",
      "query",
      "--json",
      "I love Paris.",
    ]);
    assertEquals(json.code, 0, json.err);
    assertEquals(JSON.parse(json.out).tokens.slice(0, 3), ["[CLS]", "query", ":"]);
    const bad = await run([...file, "--prompt-name", "question"], "x\n");
    assertEquals(bad.code, 2);
    assert(bad.err.includes("promptName") && bad.err.includes("query, passage"), bad.err);
  },
});

Deno.test({
  name:
    "embed refuses a model directory without weights (one line, exit 2); --demo-model runs the random model and every output says so",
  ignore,
  async fn() {
    const refused = await run([bin("embed.ts"), "--model", shared("models/all-MiniLM-L6-v2"), "x"]);
    assertEquals(refused.code, 2, refused.err);
    assertEquals(refused.out, "");
    assertEquals(refused.err.trim().split("\n").length, 1, refused.err);
    assert(refused.err.includes("no weights") && refused.err.includes("--demo-model"), refused.err);
    const r = await run(
      [bin("embed.ts"), "--demo-model", "--file", "-"],
      "I love Paris.\nI hate traffic.\n",
    );
    assertEquals(r.code, 0, r.err);
    assert(r.err.includes("--demo-model") && r.err.includes("random"), r.err);
    const rows = r.out.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(rows.map((x) => x.line), [1, 2]);
    assertEquals(rows.map((x) => x.randomWeights), [true, true]);
    assertEquals(rows[0].embedding.length, 32);
    const j = await run([bin("embed.ts"), "--demo-model", "--json", "x"]);
    assertEquals(j.code, 0, j.err);
    assertEquals(JSON.parse(j.out).randomWeights, true);
    const t = await run([bin("embed.ts"), "--demo-model", "x"]);
    assertEquals(t.code, 0, t.err);
    assert(t.out.includes("RANDOM WEIGHTS") && t.out.includes("mean nothing"), t.out);
  },
});

Deno.test({
  name:
    "embed's default model: all-MiniLM-L6-v2 from the Hub cache when there, else embedge-mini-simcse with a one-line note; EMBEDGE_MODEL first",
  ignore: ignore || !hasShared("models/embedge-mini-simcse/onnx/model.onnx"),
  async fn() {
    const cache = await Deno.makeTempDir({ prefix: "embedge-cache-" });
    const empty = { EMBEDGE_CACHE: cache, EMBEDGE_MODEL: "" };
    // an empty EMBEDGE_MODEL is a mistake, not the default
    const blank = await run([bin("embed.ts"), "x"], "", empty);
    assertEquals(blank.code, 2, blank.err);
    const clean = { EMBEDGE_CACHE: cache };
    const r = await run([bin("embed.ts"), "--json", "I love Paris."], "", clean);
    assertEquals(r.code, 0, r.err);
    assertEquals(JSON.parse(r.out).model, "embedge-mini-simcse");
    assertEquals(JSON.parse(r.out).sentenceVector.length, 256);
    const notes = r.err.trim().split("\n");
    assertEquals(notes.length, 1, r.err);
    assert(notes[0].startsWith("model: embedge-mini-simcse (real weights"), r.err);
    // a copy of all-MiniLM-L6-v2 in the Hub cache comes before it
    const model = await makeTestModel({ seed: 5, layers: 1 });
    const hub = `${cache}/sentence-transformers--all-MiniLM-L6-v2/main`;
    await Deno.mkdir(hub, { recursive: true });
    await Deno.rename(model.dir, hub);
    const h = await run([bin("embed.ts"), "--json", "I love Paris."], "", clean);
    assertEquals(h.code, 0, h.err);
    assertEquals(JSON.parse(h.out).model, "sentence-transformers/all-MiniLM-L6-v2");
    assertEquals(h.err, "");
    // the Worker's assets (`deno task worker`) come from the same default, named on stdout
    const assets = `${cache}/assets`;
    const w = await run([bin("worker_assets.ts"), assets], "", clean);
    assertEquals(w.code, 0, w.err);
    assertEquals(w.out.trim(), "sentence-transformers/all-MiniLM-L6-v2");
    assert((await Deno.stat(`${assets}/onnx/model.onnx`)).isFile);
    // EMBEDGE_MODEL wins over both
    const e = await run([bin("embed.ts"), "--json", "x"], "", {
      ...clean,
      EMBEDGE_MODEL: shared("models/embedge-mini-mlm"),
    });
    assertEquals(e.code, 0, e.err);
    assertEquals(JSON.parse(e.out).model, "embedge-mini-mlm");
    await Deno.remove(cache, { recursive: true });
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
      [[bin("embed.ts"), "--model", shared("corpus"), "x"], "no weights"],
      [[bin("embed.ts"), "--model", `/tmp/${"m".repeat(5000)}`, "x"], "no model directory"],
      [[bin("embed.ts"), "--demo-model", "--model", shared("corpus"), "x"], "no tokenizer.json"],
      [[bin("embed.ts"), "--pad-to", "0x10", "x"], "--pad-to"],
      [[bin("tokenize.ts"), "--max-length", "1e3", "x"], "--max-length"],
      [[bin("classify.ts"), "train", "--data", "x.tsv", "--out", "/proc/embedge/x.json"], "/proc"],
      [[bin("classify.ts"), "train", "--data", "x.tsv", "--out", "/proc/version"], "kernel file"],
      // refused before anything is read: a missing model shows the guard is what answered
      [
        [bin("quantize.ts"), "--model", "/nonexistent", "--output", "/proc/sys/kernel/hostname"],
        "kernel file",
      ],
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
      const lines = r.err.trim().split("\n").filter((l) => !/^(note|model):/.test(l));
      assertEquals(lines.length, 1, `${what}: ${r.err}`);
      assert(lines[0].includes(needle) && !r.err.includes("    at "), `${what}: ${r.err}`);
    }
    // a vocab-only directory has no weights either: the demo model only when asked for
    const v = await run([bin("embed.ts"), "--model", shared("models/bert-base-uncased"), "x"]);
    assertEquals([v.code, v.err.includes("no weights")], [2, true], v.err);
    const demo = [bin("embed.ts"), "--demo-model", "--model", shared("models/bert-base-uncased")];
    const d = await run([...demo, "--json", "x"]);
    assertEquals(d.code, 0, d.err);
    assertEquals(JSON.parse(d.out).randomWeights, true);
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
    // the padded row is the tokens the model runs, never longer than --max-length (it was
    // [CLS] i love [SEP]: four ids for three tokens)
    assertEquals(j.tokens, ["[CLS]", "i", "[SEP]"]);
    assertEquals(j.inputIds, [101, 1045, 102]);
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

Deno.test({
  name:
    "embed and tokenize: every text is its own input; --similarity gives the cosine matrix; the padded row is what the model ran",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 3, layers: 1 });
    const texts = ["I love Paris.", "I adore Paris.", "I hate traffic."];
    const r = await run([
      bin("embed.ts"),
      "--model",
      model.dir,
      "--json",
      "--similarity",
      ...texts,
    ]);
    assertEquals(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assertEquals(j.inputs.map((x: { text: string }) => x.text), texts);
    const { Embedder } = await import("../src/model/embedder.ts");
    const { cosine } = await import("../src/model/similarity.ts");
    const e = await Embedder.load(model.dir);
    const out = await e.embed(texts);
    const row = (i: number) => out.data.subarray(i * 32, (i + 1) * 32);
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < 3; k++) {
        assert(Math.abs(j.similarity[i][k] - cosine(row(i), row(k))) < 1e-5, `${i},${k}`);
      }
    }
    await e.close();
    const table = await run([bin("embed.ts"), "--model", model.dir, "--similarity", ...texts]);
    assertEquals(table.code, 0, table.err);
    assertEquals(table.out.split("\ntext:").length - 1, 3, table.out);
    assert(table.out.includes("cosine similarity:"), table.out);
    // a text longer than --pad-to: the row shows all 13 tokens the model ran, not 8
    const long = "the quick brown fox jumps over the lazy dog near paris";
    const w = await run([bin("embed.ts"), "--model", model.dir, "--json", long]);
    const walk = JSON.parse(w.out);
    assertEquals(walk.outputShape[1], 13);
    assertEquals([walk.paddedTokens.length, walk.inputIds.length], [13, 13]);
    assertEquals(walk.paddedTokens, walk.tokens);
    const plain = await run([bin("embed.ts"), "--model", model.dir, long]);
    assert(plain.out.includes("padded (13):"), plain.out);
    // tokenize: --max-length 5 cuts the row too; two texts are two inputs
    const t = await run([bin("tokenize.ts"), "--json", "--max-length", "5", long, "I love Paris"]);
    assertEquals(t.code, 0, t.err);
    const [first, second] = JSON.parse(t.out).inputs;
    assertEquals(first.tokens.length, 5);
    assertEquals(first.inputIds[4], 102); // the cut row ends in [SEP], as the model runs it
    assertEquals(first.paddedTokens.slice(0, 5), first.tokens);
    assertEquals(first.inputIds.length, 5); // not padded past --max-length
    assertEquals(first.attentionMask, [1, 1, 1, 1, 1]);
    assertEquals(second.tokens, ["[CLS]", "i", "love", "paris", "[SEP]"]);
  },
});

Deno.test({
  name: "embed --file into a pipe closed early (| head) ends quietly, no stack trace",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 3, layers: 1 });
    const p = new Deno.Command(deno, {
      args: ["run", "-A", bin("embed.ts"), "--model", model.dir, "--file", "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = p.stdin.getWriter();
    // 400 rows of 32 numbers: far more than a pipe holds
    await w.write(new TextEncoder().encode("I love Paris.\n".repeat(400)));
    await w.close();
    const reader = p.stdout.getReader();
    await reader.read(); // the first bytes, as `head -1` reads them
    await reader.cancel();
    const [status, err] = await Promise.all([p.status, new Response(p.stderr).text()]);
    assert(!err.includes("    at ") && !err.includes("BrokenPipe"), err);
    assertEquals(err.trim(), "");
    assertEquals(status.code, 141);
  },
});
