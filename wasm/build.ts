/**
 * Builds the WordPiece tokenizer: generates the Unicode tables, then compiles
 * `wasm/assembly/index.ts` with AssemblyScript to `wasm/build/tokenizer.wasm`; and the
 * BERT kernels, `wasm/kernels/bert.ts` to `wasm/build/bert_kernels.wasm` (SIMD and relaxed
 * SIMD: the WASM backend's engine, src/model/kernels/kernel_session.ts).
 * Skips work whose output is newer than its inputs. Both outputs are committed (the
 * package ships the prebuilt wasm, and the tables pin the Unicode data this machine's
 * ICU gave); `tests/wasm_build_test.ts` rebuilds them with `--force --out DIR` and
 * checks they equal the committed files byte for byte.
 *
 * @example
 * ```sh
 * deno run --allow-read --allow-write --allow-env --allow-run wasm/build.ts
 * ```
 * @module
 */
import asc from "assemblyscript/asc";
import { generate } from "./gen_tables.ts";

const here = (p: string) => new URL(p, import.meta.url);
const mtime = (u: URL) => {
  try {
    return Deno.statSync(u).mtime?.getTime() ?? 0;
  } catch {
    return 0;
  }
};

const outArg = Deno.args.indexOf("--out");
const outDir = outArg >= 0 ? new URL(`file://${Deno.realPathSync(Deno.args[outArg + 1])}/`) : null;
const tables = outDir ? new URL("tables.ts", outDir) : here("./assembly/tables.ts");
const source = here("./assembly/index.ts");
// the modules next to index.ts (tables.ts is generated)
const modules = [...Deno.readDirSync(here("./assembly/"))]
  .map((e) => e.name)
  .filter((f) => f.endsWith(".ts") && f !== "tables.ts")
  .sort();
const out = outDir ? new URL("tokenizer.wasm", outDir) : here("./build/tokenizer.wasm");
const force = Deno.args.includes("--force");

if (force || mtime(tables) < mtime(here("./gen_tables.ts"))) {
  Deno.writeTextFileSync(tables, generate());
}
const newestSource = Math.max(...modules.map((f) => mtime(here(`./assembly/${f}`))));
/** Compiles an AssemblyScript entry to `out` with -O3 and no assertions, plus `flags`. */
async function compile(entry: URL, out: URL, flags: string[]): Promise<void> {
  const { error, stderr } = await asc.main([
    entry.pathname,
    "-O3",
    "--noAssert",
    ...flags,
    "-o",
    out.pathname,
  ]);
  if (error) {
    console.error(stderr.toString());
    throw error;
  }
  console.error(`built ${out.pathname} (${Deno.statSync(out).size} bytes)`);
}

if (force || mtime(out) < Math.max(mtime(tables), newestSource, mtime(here("./build.ts")))) {
  Deno.mkdirSync(new URL(".", out), { recursive: true });
  // an --out build compiles the sources next to its own tables
  let entry = source;
  if (outDir) {
    entry = new URL("index.ts", outDir);
    for (const f of modules) {
      Deno.writeTextFileSync(new URL(f, outDir), Deno.readTextFileSync(here(`./assembly/${f}`)));
    }
  }
  await compile(entry, out, ["--runtime", "minimal"]);
}

const kernelsSource = here("./kernels/bert.ts");
// bert.ts is the entry; the kernels' modules next to it (attention.ts, int8.ts, …) count too
const newestKernelSource = Math.max(
  ...[...Deno.readDirSync(here("./kernels/"))]
    .filter((e) => e.name.endsWith(".ts"))
    .map((e) => mtime(here(`./kernels/${e.name}`))),
);
// two builds of the kernels: relaxed SIMD (fused multiply-add) and plain SIMD for runtimes
// that lack relaxed SIMD (Node 20 without a flag, Safari); kernel_session.ts takes the first
// that validates
const kernelBuilds: [string, string[]][] = [
  ["bert_kernels.wasm", ["--enable", "simd", "--enable", "relaxed-simd"]],
  ["bert_kernels_simd.wasm", ["--enable", "simd"]],
];
for (const [name, features] of kernelBuilds) {
  const kernelsOut = outDir ? new URL(name, outDir) : here(`./build/${name}`);
  if (force || mtime(kernelsOut) < Math.max(newestKernelSource, mtime(here("./build.ts")))) {
    // the stub runtime: the kernels allocate nothing; their caller places every tensor
    await compile(kernelsSource, kernelsOut, ["--runtime", "stub", ...features]);
  }
}
