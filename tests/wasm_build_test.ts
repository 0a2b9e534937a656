/**
 * The committed tokenizer wasm, BERT kernels and Unicode tables are what a fresh build makes, byte for
 * byte: the package ships the prebuilt `wasm/build/tokenizer.wasm` (importers need no
 * AssemblyScript), and `wasm/assembly/tables.ts` pins the Unicode data (lowercase,
 * White_Space, NFD) that the building runtime's ICU gave. A change to the AssemblyScript
 * source without a rebuild, or a runtime whose Unicode data differs, fails here.
 */
import { assertEquals } from "./support/assert.ts";
import { tempDir } from "./support/paths.ts";

Deno.test("a fresh forced build equals the committed wasm and tables", async () => {
  const dir = await tempDir("embedge-wasm-build-");
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../wasm/build.ts", import.meta.url).pathname,
      "--force",
      "--out",
      dir,
    ],
    stderr: "piped",
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  for (
    const [fresh, committed] of [
      [`${dir}/tokenizer.wasm`, "../wasm/build/tokenizer.wasm"],
      [`${dir}/bert_kernels.wasm`, "../wasm/build/bert_kernels.wasm"],
      [`${dir}/bert_kernels_simd.wasm`, "../wasm/build/bert_kernels_simd.wasm"],
      [`${dir}/tables.ts`, "../wasm/assembly/tables.ts"],
    ]
  ) {
    const a = await Deno.readFile(fresh);
    const b = await Deno.readFile(new URL(committed, import.meta.url));
    assertEquals(a.length, b.length, `${committed}: size`);
    const first = a.findIndex((x, i) => x !== b[i]);
    assertEquals(first, -1, `${committed}: first differing byte`);
  }
});
