/**
 * embedge as a library another project imports: the scripts in examples/ run from a
 * directory outside the repository that holds nothing but the scripts and an import map
 * (`deno.json` mapping `@embedge/embedge` to this checkout's mod.ts, as the README says):
 * no package.json, no node_modules. The library names its npm packages with versioned
 * `npm:` specifiers, which Deno fetches into its global cache (the npm registry must be
 * reachable the first time: about 24 s for all of them into an empty cache, here). Their
 * output is checked against the library.
 *
 * The npm package the same way: `npm pack` (which builds dist/ with tsc), the tarball
 * installed by `npm i` into a fresh Node project, examples/node_walkthrough.mjs run by
 * Node, the engine it runs and the one line saying why when it is not onnxruntime-node
 * (the package removed, as npm does when its install script fails), and a strict
 * TypeScript consumer type-checked against the packed declarations.
 */
import { Embedder } from "../mod.ts";
import { cosine } from "../src/model/similarity.ts";
import { assert, assertAlmostEquals, assertEquals } from "./support/assert.ts";
import { hasShared, shared, tempDir } from "./support/paths.ts";

const MODEL = "models/embedge-mini-mlm/onnx/model.onnx";
const SIMCSE = "models/embedge-mini-simcse/onnx/model.onnx";
const ignore = !hasShared(MODEL) || !hasShared(SIMCSE);
const root = new URL("..", import.meta.url).pathname;

/** Prints the sentence vector of "I love Paris." and what computed it, as JSON. */
const VECTOR_SCRIPT = `import { Embedder } from "@embedge/embedge";
const embedder = await Embedder.load(Deno.args[0]);
const { data } = await embedder.embed(["I love Paris."]);
const { engine, backend } = embedder.info;
console.log(JSON.stringify({ engine, backend, vector: Array.from(data) }));
await embedder.close();
`;

/** Node: which engine runs "I love Paris." (the model loaded twice), and its vector, as JSON. */
const NODE_PROBE = `import { Embedder } from "embedge";
import process from "node:process";
let embedder;
for (let load = 0; load < 2; load++) {
  await embedder?.close();
  embedder = await Embedder.load(process.argv[2]);
}
const { data } = await embedder.embed(["I love Paris."]);
const { engine, engineNote } = embedder.info;
console.log(JSON.stringify({ engine, engineNote, vector: Array.from(data) }));
await embedder.close();
`;

/** A consumer project in a temp dir: an import map and the scripts, nothing else. */
async function consumer(): Promise<string> {
  const dir = await tempDir("embedge-consumer-");
  await Deno.writeTextFile(
    `${dir}/deno.json`,
    JSON.stringify({ imports: { "@embedge/embedge": `${root}mod.ts` } }),
  );
  for (const f of ["walkthrough.ts", "semantic_search.ts"]) {
    await Deno.copyFile(`${root}examples/${f}`, `${dir}/${f}`);
  }
  await Deno.writeTextFile(`${dir}/vector.ts`, VECTOR_SCRIPT);
  return dir;
}

/**
 * The packages named in Deno's "Ignored build scripts" boxes. Deno prints one the first
 * time a project folder resolves a package that has an install script, and marks it
 * (`.scripts-warned-<hash of the folder>` beside the package in its cache): later runs in
 * that folder are quiet. Neither the library nor an import map can turn it off.
 */
function ignoredScripts(stderr: string): string[] {
  // deno-lint-ignore no-control-regex
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  return [...plain.matchAll(/npm:((?:@[\w.-]+\/)?[\w.-]+)@[\w.-]+/g)]
    .filter((m) => plain.lastIndexOf("Ignored build scripts", m.index) >= 0)
    .map((m) => m[1]);
}

/** Runs `cmd args` in `cwd`; its exit code and output. */

/** `deno run -A args` in `dir`. */
const run = (dir: string, args: string[]) => command(Deno.execPath(), ["run", "-A", ...args], dir);

Deno.test({
  name:
    "examples run from a folder with only an import map: no package.json, no node_modules, no build-script box after the first run",
  ignore,
  async fn() {
    const dir = await consumer();
    const simcse = shared("models/embedge-mini-simcse");

    // "I love Paris." through the package name equals the library's vector in this process
    const v = await run(dir, ["vector.ts", simcse]);
    assertEquals(v.code, 0, v.err);
    // at most the two packages with install scripts, and only on this folder's first run
    // (protobufjs comes with onnxruntime-web; onnxruntime-node's fetches CUDA files)
    for (const name of ignoredScripts(v.err)) {
      assert(["protobufjs", "onnxruntime-node"].includes(name), `a new build-script box: ${v.err}`);
    }
    const printed = JSON.parse(v.out);
    // onnxruntime-node came through npm:onnxruntime-node@version, from Deno's cache
    assertEquals([printed.backend, printed.engine], ["native", "onnxruntime-node"], v.err);
    const embedder = await Embedder.load(simcse);
    try {
      const { data } = await embedder.embed(["I love Paris."]);
      assertEquals(printed.vector.length, data.length);
      for (let i = 0; i < data.length; i++) assertAlmostEquals(printed.vector[i], data[i], 1e-5);
    } finally {
      await embedder.close();
    }

    const w = await run(dir, ["walkthrough.ts", simcse]);
    assertEquals(w.code, 0, w.err);
    assertEquals(ignoredScripts(w.err), [], w.err);
    assert(!/Ignored build scripts|[Ll]ifecycle scripts/.test(w.err), w.err);
    assert(w.out.includes("(native backend)"), w.out);
    assert(w.out.includes("tokens:         [CLS] i love paris . [SEP] [PAD] [PAD]"), w.out);
    assert(w.out.includes("token ids:      101 1045 2293 3000 1012 102 0 0"), w.out);
    assert(w.out.includes("attention mask: 1 1 1 1 1 1 0 0"), w.out);
    assert(w.out.includes("sentence:       256 dims"), w.out);
    await Deno.writeTextFile(
      `${dir}/lines.txt`,
      "The river flooded the town.\nI love Paris in the spring.\nStocks fell sharply today.\n",
    );
    const s = await run(dir, ["semantic_search.ts", simcse, "lines.txt", "I love Paris"]);
    assertEquals(s.code, 0, s.err);
    assert(!/Ignored build scripts|[Ll]ifecycle scripts/.test(s.err), s.err);
    const hits = s.out.trim().split("\n");
    assertEquals(hits.length, 3);
    assert(hits[0].endsWith("I love Paris in the spring."), s.out);
    const bad = await run(dir, ["semantic_search.ts"]);
    assertEquals(bad.code, 2);

    // nothing appeared beside the scripts but Deno's lockfile
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(left, [
      "deno.json",
      "deno.lock",
      "lines.txt",
      "semantic_search.ts",
      "vector.ts",
      "walkthrough.ts",
    ]);
  },
});

async function command(cmd: string, args: string[], cwd: string) {
  const { code, stdout, stderr } = await new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test({
  name:
    "npm package: packed with its prebuilt wasm and declarations, the Node walkthrough embeds through it",
  ignore,
  async fn() {
    const dir = await tempDir("embedge-node-consumer-");
    const pack = await command("npm", ["pack", "--json", "--pack-destination", dir], root);
    assertEquals(pack.code, 0, pack.err);
    const [packed] = JSON.parse(pack.out.slice(pack.out.indexOf("[")));
    const files = new Set((packed.files as { path: string }[]).map((f) => f.path));
    for (const f of ["dist/mod.js", "dist/mod.d.ts", "dist/wasm/build/tokenizer.wasm"]) {
      assert(files.has(f), `the package lacks ${f}`);
    }
    assert([...files].every((f) => !f.endsWith(".ts") || f.endsWith(".d.ts")), "sources packed");

    // the consumer: a fresh project that installs the tarball as a user would. onnxruntime-
    // node's install script fetches CUDA files from NuGet on linux/x64 and fails offline,
    // and npm then drops the optional package without a word; the flag (the script's own
    // option, also ONNXRUNTIME_NODE_INSTALL=skip) keeps it. The dropped case is made below.
    await Deno.writeTextFile(
      `${dir}/package.json`,
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
    const install = await command("npm", [
      "install",
      `./${packed.filename}`,
      "--onnxruntime-node-install=skip",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
    ], dir);
    assertEquals(install.code, 0, install.err);
    const modules = `${dir}/node_modules`;
    assertEquals(
      await Deno.readFile(`${modules}/embedge/dist/wasm/build/tokenizer.wasm`),
      await Deno.readFile(`${root}wasm/build/tokenizer.wasm`),
    );
    await Deno.copyFile(`${root}examples/node_walkthrough.mjs`, `${dir}/node_walkthrough.mjs`);

    const model = shared("models/embedge-mini-mlm");
    const w = await command("node", ["node_walkthrough.mjs", model], dir);
    assertEquals(w.code, 0, w.err);
    assert(w.out.includes("tokens:         [CLS] i love paris . [SEP] [PAD] [PAD]"), w.out);
    assert(w.out.includes("token ids:      101 1045 2293 3000 1012 102 0 0"), w.out);
    assert(w.out.includes("attention mask: 1 1 1 1 1 1 0 0"), w.out);
    assert(w.out.includes("token vectors:  6 × 256"), w.out);
    // the vectors are the library's: the same cosines as this process computes
    const embedder = await Embedder.load(model);
    try {
      const { data, dims } = await embedder.embed([
        "I love Paris.",
        "I adore Paris.",
        "I hate traffic.",
      ]);
      const row = (i: number) => data.subarray(i * dims[1], (i + 1) * dims[1]);
      const printed = [...w.out.matchAll(/cosine\(love, \w+\)\s+= ([\d.-]+)/g)].map((m) =>
        Number(m[1])
      );
      assertEquals(printed.length, 2, w.out);
      assertAlmostEquals(printed[0], cosine(row(0), row(1)), 2e-6);
      assertAlmostEquals(printed[1], cosine(row(0), row(2)), 2e-6);
    } finally {
      await embedder.close();
    }

    // which engine runs, and says why when it is not onnxruntime-node: "I love Paris." with
    // embedge-mini-simcse, loaded twice (the warning comes once), against this process's vector
    await Deno.writeTextFile(`${dir}/probe.mjs`, NODE_PROBE);
    const simcse = shared("models/embedge-mini-simcse");
    const expected = await (async () => {
      const embedder = await Embedder.load(simcse);
      try {
        return (await embedder.embed(["I love Paris."])).data;
      } finally {
        await embedder.close();
      }
    })();
    const probe = async (nodeFlags: string[]) => {
      const p = await command("node", [...nodeFlags, "probe.mjs", simcse], dir);
      assertEquals(p.code, 0, p.err);
      const printed = JSON.parse(p.out);
      assertEquals(printed.vector.length, expected.length);
      for (let i = 0; i < expected.length; i++) {
        assertAlmostEquals(printed.vector[i], expected[i], 1e-5, `${printed.engine}, ${i}`);
      }
      const warnings = p.err.split("\n").filter((line) => line.startsWith("embedge: "));
      return { engine: printed.engine, note: printed.engineNote, warnings };
    };
    const native = await probe([]);
    assertEquals(native, { engine: "onnxruntime-node", note: undefined, warnings: [] });

    // the state npm leaves when the install script fails: no onnxruntime-node
    await Deno.remove(`${modules}/onnxruntime-node`, { recursive: true });
    const missing =
      "onnxruntime-node is not installed (npm drops it when its install script fails)";
    const node = Number((await command("node", ["--version"], dir)).out.slice(1).split(".")[0]);
    const plain = await probe([]);
    // Node 20's V8 has relaxed SIMD behind a flag: there the kernels' plain-SIMD build runs
    // (faster than onnxruntime-web on Node 20, bench/node_engines.ts); Node 22's validates
    // the relaxed build as is
    const plainNote = node < 22
      ? `${missing}; running embedge-kernels (the kernels' plain-SIMD build runs (multiply, then add): Node ${node} validates relaxed SIMD only with --experimental-wasm-relaxed-simd)`
      : `${missing}; running embedge-kernels`;
    assertEquals(plain, {
      engine: "embedge-kernels",
      note: plainNote,
      warnings: [`embedge: ${plainNote}`],
    });
    const kernelsNote = `${missing}; running embedge-kernels`;
    assertEquals(await probe(["--experimental-wasm-relaxed-simd"]), {
      engine: "embedge-kernels",
      note: kernelsNote,
      warnings: [`embedge: ${kernelsNote}`],
    });

    // a strict TypeScript consumer compiles against the packed declarations
    await Deno.writeTextFile(
      `${dir}/check.ts`,
      [
        `import { cosine, Embedder, type Pooling } from "embedge";`,
        `const embedder: Embedder = await Embedder.load("model", { backend: "wasm" });`,
        `const pooling: Pooling = "mean";`,
        `const { data, dims } = await embedder.embed(["a", "b"], { pooling });`,
        `const score: number = cosine(data.subarray(0, dims[1]), data.subarray(dims[1]));`,
        `console.log(score);`,
      ].join("\n"),
    );
    const tsc = await command("node", [
      `${root}node_modules/typescript/bin/tsc`,
      "--noEmit",
      "--strict",
      "--target",
      "es2022",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--lib",
      "es2023,dom",
      "check.ts",
    ], dir);
    assertEquals(tsc.code, 0, tsc.out + tsc.err);
  },
});

Deno.test("JSR package: deno publish --dry-run succeeds and packs the prebuilt wasm", async () => {
  const publish = await command(
    Deno.execPath(),
    ["publish", "--dry-run", "--allow-dirty"],
    root,
  );
  const said = publish.out + publish.err;
  assertEquals(publish.code, 0, said);
  assert(said.includes("wasm/build/tokenizer.wasm"), said);
  assert(said.includes("Dry run complete"), said);
});
