/**
 * `build:browser`: the library as one ES module a web page imports, with the wasm files it
 * fetches beside it:
 *
 * ```
 * dist/browser/embedge.js                     mod.ts bundled (esbuild, ESM, browser)
 * dist/browser/tokenizer.wasm                 the WordPiece tokenizer
 * dist/browser/bert_kernels.wasm              embedge's BERT kernels (fp32 graphs they recognise)
 * dist/browser/bert_kernels_simd.wasm         the same with plain SIMD (Safari)
 * dist/browser/ort-wasm-simd-threaded.wasm    onnxruntime-web, for graphs the kernels refuse
 * ```
 *
 * The library finds its wasm files relative to its own module (`new URL(…, import.meta.url)`),
 * written for the repository's layout (`../../wasm/build/`, `../../../wasm/build/`); the bundle is one file, so the
 * build points those two URLs at the bundle's folder. onnxruntime-web's bundled loader fetches
 * its wasm beside the module that holds it, which is `embedge.js` too. Node-only code (files,
 * onnxruntime-node) is reached through computed dynamic imports that a bundler does not
 * follow, so nothing of it enters the bundle, as for the Worker.
 *
 * Costs: the bundle is ~0.6 MB (onnxruntime-web's JavaScript is most of it); the page fetches
 * onnxruntime-web's 12 MB wasm only when the kernels refuse a graph or the browser has no
 * relaxed SIMD (Safari).
 *
 * @example
 * ```sh
 * deno task build:browser            # writes dist/browser/
 * deno run -A bin/build_browser.ts --out some/dir
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { build, type Plugin, stop } from "esbuild";
import { runCli, UsageError } from "./run_cli.ts";

const root = new URL("../", import.meta.url).pathname;

/** The files whose wasm URL is rewritten, and the folder the repository layout names. */
const WASM_URL_FILES = /src\/(tokenizer\/wasm|model\/kernels\/kernels_module)\.ts$/;
const REPOSITORY_WASM = /(["`])(\.\.\/)+wasm\/build\//g;

/**
 * Points the library's wasm URLs at the bundle's folder, and resolves `npm:` specifiers
 * (Deno's) to the packages in node_modules, as a bundler for the browser must.
 */
const browserLayout: Plugin = {
  name: "embedge-browser-layout",
  setup(b) {
    b.onResolve({ filter: /^npm:/ }, async (args) => {
      // npm:name@version/sub → name/sub (the installed version is the pinned one)
      const bare = args.path.slice(4).replace(/^((?:@[^/]+\/)?[^@/]+)@[^/]+/, "$1");
      const resolved = await b.resolve(bare, { kind: args.kind, resolveDir: args.resolveDir });
      if (resolved.errors.length) return { errors: resolved.errors };
      return { path: resolved.path, external: resolved.external };
    });
    b.onLoad({ filter: WASM_URL_FILES }, async (args) => {
      const source = await Deno.readTextFile(args.path);
      const rewritten = source.replace(REPOSITORY_WASM, "$1./");
      if (rewritten === source) {
        throw new Error(`${args.path} no longer names ../(../)wasm/build/: update the build`);
      }
      return { contents: rewritten, loader: "ts" };
    });
  },
};

/** Builds the bundle into `out`; returns the files written with their sizes. */
export async function buildBrowser(out: string): Promise<Record<string, number>> {
  await Deno.mkdir(out, { recursive: true });
  try {
    await build({
      entryPoints: [`${root}mod.ts`],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      outfile: `${out}/embedge.js`,
      plugins: [browserLayout],
      logLevel: "error",
      // node: built-ins appear only behind computed imports; a literal one is a mistake
      external: [],
    });
  } finally {
    await stop();
  }
  const copies: [string, string][] = [
    ["wasm/build/tokenizer.wasm", "tokenizer.wasm"],
    ["wasm/build/bert_kernels.wasm", "bert_kernels.wasm"],
    ["wasm/build/bert_kernels_simd.wasm", "bert_kernels_simd.wasm"],
    [
      "node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm",
      "ort-wasm-simd-threaded.wasm",
    ],
  ];
  for (const [from, to] of copies) await Deno.copyFile(`${root}${from}`, `${out}/${to}`);
  const sizes: Record<string, number> = {};
  for (const name of ["embedge.js", ...copies.map(([, to]) => to)]) {
    sizes[name] = (await Deno.stat(`${out}/${name}`)).size;
  }
  return sizes;
}

if (import.meta.main) {
  await runCli(async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: { out: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
    });
    if (values.help) {
      console.log("usage: deno task build:browser [--out DIR]  (default dist/browser)");
      return 0;
    }
    if (values.out === "") throw new UsageError("--out needs a directory");
    const out = values.out ?? `${root}dist/browser`;
    const sizes = await buildBrowser(out);
    for (const [name, size] of Object.entries(sizes)) {
      console.log(`${out}/${name}  ${(size / 1024).toFixed(0)} KiB`);
    }
    return 0;
  });
}
