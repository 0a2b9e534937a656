/**
 * embedge as a library another project imports: the scripts in examples/ run from a
 * directory outside the repository, importing `@embedge/embedge` through that project's
 * own import map (pointing at this checkout's mod.ts, as a JSR install would resolve it),
 * with its own package.json and node_modules (here a link to this checkout's, standing
 * in for `npm install`). Their output is checked against the library.
 *
 * The npm package the same way: `npm pack` (which builds dist/ with tsc), the tarball
 * unpacked into a Node project's node_modules, examples/node_walkthrough.mjs run by
 * Node, and a strict TypeScript consumer type-checked against the packed declarations.
 */
import { Embedder } from "../mod.ts";
import { cosine } from "../src/model/similarity.ts";
import { assert, assertAlmostEquals, assertEquals } from "./support/assert.ts";
import { hasShared, shared, tempDir } from "./support/paths.ts";

const MODEL = "models/embedge-mini-mlm/onnx/model.onnx";
const ignore = !hasShared(MODEL);
const root = new URL("..", import.meta.url).pathname;

/** A consumer project in a temp dir; returns its directory. */
async function consumer(): Promise<string> {
  const dir = await tempDir("embedge-consumer-");
  const pkg = JSON.parse(await Deno.readTextFile(`${root}package.json`));
  await Deno.writeTextFile(
    `${dir}/package.json`,
    JSON.stringify({
      name: "consumer",
      private: true,
      type: "module",
      dependencies: pkg.dependencies,
      optionalDependencies: pkg.optionalDependencies,
    }),
  );
  await Deno.writeTextFile(
    `${dir}/deno.json`,
    JSON.stringify({
      imports: { "@embedge/embedge": new URL("mod.ts", `file://${root}`).href },
      nodeModulesDir: "manual",
    }),
  );
  await Deno.symlink(`${root}node_modules`, `${dir}/node_modules`);
  for (const f of ["walkthrough.ts", "semantic_search.ts"]) {
    await Deno.copyFile(`${root}examples/${f}`, `${dir}/${f}`);
  }
  return dir;
}

/** Runs `cmd args` in `cwd`; its exit code and output. */

/** `deno run -A args` in `dir`. */
const run = (dir: string, args: string[]) => command(Deno.execPath(), ["run", "-A", ...args], dir);

Deno.test({
  name:
    "examples run from outside the repo through the package name: walkthrough and semantic search",
  ignore,
  async fn() {
    const dir = await consumer();
    const model = shared("models/embedge-mini-mlm");
    const w = await run(dir, ["walkthrough.ts", model]);
    assertEquals(w.code, 0, w.err);
    assert(w.out.includes("tokens:         [CLS] i love paris . [SEP] [PAD] [PAD]"), w.out);
    assert(w.out.includes("token ids:      101 1045 2293 3000 1012 102 0 0"), w.out);
    assert(w.out.includes("attention mask: 1 1 1 1 1 1 0 0"), w.out);
    assert(w.out.includes("sentence:       256 dims"), w.out);
    await Deno.writeTextFile(
      `${dir}/lines.txt`,
      "The river flooded the town.\nI love Paris in the spring.\nStocks fell sharply today.\n",
    );
    const s = await run(dir, ["semantic_search.ts", model, "lines.txt", "I love Paris"]);
    assertEquals(s.code, 0, s.err);
    const hits = s.out.trim().split("\n");
    assertEquals(hits.length, 3);
    assert(hits[0].endsWith("I love Paris in the spring."), s.out);
    const bad = await run(dir, ["semantic_search.ts"]);
    assertEquals(bad.code, 2);
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

    // the consumer: the tarball unpacked as node_modules/embedge, its dependencies linked
    const modules = `${dir}/node_modules`;
    await Deno.mkdir(modules);
    const untar = await command("tar", ["xzf", `${dir}/${packed.filename}`, "-C", dir], dir);
    assertEquals(untar.code, 0, untar.err);
    await Deno.rename(`${dir}/package`, `${modules}/embedge`);
    assertEquals(
      await Deno.readFile(`${modules}/embedge/dist/wasm/build/tokenizer.wasm`),
      await Deno.readFile(`${root}wasm/build/tokenizer.wasm`),
    );
    const pkg = JSON.parse(await Deno.readTextFile(`${root}package.json`));
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      await Deno.symlink(`${root}node_modules/${name}`, `${modules}/${name}`);
    }
    await Deno.writeTextFile(`${dir}/package.json`, JSON.stringify({ type: "module" }));
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
