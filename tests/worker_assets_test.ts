/**
 * Workers assets: a model directory with a file over the part size is prepared as parts
 * plus a manifest, and the Worker's reader puts it back together byte for byte; damaged
 * parts are errors, not wrong bytes.
 */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { prepareWorkerAssets } from "../bin/worker_assets.ts";
import { UsageError } from "../bin/run_cli.ts";
import { PART_BYTES, partedReader } from "../edge/assets.ts";
import { quantize } from "../src/model/onnx/quantize.ts";
import { makeTestModel } from "./support/test_model.ts";
import { rng } from "../src/random.ts";
import { exists, tempDir } from "./support/paths.ts";

Deno.test("large files split into parts and read back whole; damaged parts are errors", async () => {
  const src = await tempDir(), out = await tempDir();
  const r = rng(5);
  const big = Uint8Array.from({ length: 2500 }, () => Math.floor(r() * 256));
  await Deno.mkdir(`${src}/onnx`);
  await Deno.writeFile(`${src}/onnx/model.onnx.data`, big);
  await Deno.writeTextFile(`${src}/config.json`, "{}");
  assertEquals(await prepareWorkerAssets(src, out, 1000), 1);
  const files = [...Deno.readDirSync(`${out}/onnx`)].map((e) => e.name).sort();
  assertEquals(files, [
    "model.onnx.data.part-000",
    "model.onnx.data.part-001",
    "model.onnx.data.part-002",
    "model.onnx.data.parts.json",
  ]);
  const fileReader = (path: string) => Deno.readFile(`${out}/${path}`).catch(() => undefined);
  const read = partedReader(fileReader);
  assertEquals(await read("onnx/model.onnx.data"), big);
  assertEquals(new TextDecoder().decode(await read("config.json")), "{}");
  assertEquals(await read("vocab.txt"), undefined);
  await Deno.remove(`${out}/onnx/model.onnx.data.part-001`);
  await assertRejects(() => read("onnx/model.onnx.data"), Error, "part-001 is missing");
  await Deno.writeFile(`${out}/onnx/model.onnx.data.part-001`, big.subarray(1000, 1999));
  await assertRejects(() => read("onnx/model.onnx.data"), Error, "the manifest says 2500");
});

Deno.test("--dtype int8 ships only the int8 file under onnx/ (no fp32 weights); a missing variant is a usage error", async () => {
  const model = await makeTestModel({ seed: 3, layers: 1 });
  await quantize(model.dir);
  await Deno.writeFile(`${model.dir}/onnx/model_fp16.onnx`, Uint8Array.of(1)); // another variant
  const out = await tempDir();
  await prepareWorkerAssets(model.dir, out, PART_BYTES, "int8");
  assertEquals([...Deno.readDirSync(`${out}/onnx`)].map((e) => e.name), ["model_int8.onnx"]);
  assert(exists(`${out}/config.json`) && exists(`${out}/tokenizer.json`));
  await prepareWorkerAssets(model.dir, out);
  assertEquals([...Deno.readDirSync(`${out}/onnx`)].map((e) => e.name).sort(), [
    "model.onnx",
    "model_fp16.onnx",
    "model_int8.onnx",
  ]);
  await Deno.remove(`${model.dir}/onnx/model_int8.onnx`);
  await assertRejects(() => prepareWorkerAssets(model.dir, out, PART_BYTES, "int8"), UsageError);
});
