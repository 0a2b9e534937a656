/**
 * embedge as a library another project imports: the scripts in examples/ run from a
 * directory outside the repository, importing `@embedge/embedge` through that project's
 * own import map (pointing at this checkout's mod.ts, as a JSR install would resolve it),
 * with its own package.json and node_modules (here a link to this checkout's, standing
 * in for `npm install`). Their output is checked against the library.
 */
import { assert, assertEquals } from "./support/assert.ts";
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

async function run(dir: string, args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

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
