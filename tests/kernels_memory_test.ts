/**
 * The kernels' memory at load (issue 26): once the weights are packed into the kernels'
 * memory, a session keeps no reference to the model's bytes, so the ONNX file (~24 MB for
 * MiniLM int8, and an fp32 model's external data) is not held twice for the session's
 * lifetime. Checked in a child run with `--expose-gc` (tests/support/kernels_release_child.ts).
 *
 * @module
 */
import { assertEquals } from "./support/assert.ts";

async function child(dtype: "fp32" | "int8"): Promise<{ collected: boolean; dims: number[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL("./support/kernels_release_child.ts", import.meta.url).pathname,
      dtype,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assertEquals(out.code, 0, "the child failed");
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
}

for (const dtype of ["int8", "fp32"] as const) {
  Deno.test(`kernels: a ${dtype} session keeps no reference to the model's bytes`, async () => {
    assertEquals(await child(dtype), { collected: true, dims: [1, 3, 32] });
  });
}
