/**
 * Builds the WordPiece tokenizer: generates the Unicode tables, then compiles
 * `wasm/assembly/index.ts` with AssemblyScript to `wasm/build/tokenizer.wasm`.
 * Skips work whose output is newer than its inputs.
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

const tables = here("./assembly/tables.ts");
const source = here("./assembly/index.ts");
const out = here("./build/tokenizer.wasm");
const force = Deno.args.includes("--force");

if (force || mtime(tables) < mtime(here("./gen_tables.ts"))) {
  Deno.writeTextFileSync(tables, generate());
}
if (force || mtime(out) < Math.max(mtime(tables), mtime(source), mtime(here("./build.ts")))) {
  Deno.mkdirSync(here("./build"), { recursive: true });
  const { error, stderr } = await asc.main([
    source.pathname,
    "-O3",
    "--runtime",
    "minimal",
    "--noAssert",
    "-o",
    out.pathname,
  ]);
  if (error) {
    console.error(stderr.toString());
    throw error;
  }
  console.error(`built ${out.pathname} (${Deno.statSync(out).size} bytes)`);
}
