/**
 * A runnable model of the real all-MiniLM-L6-v2 export structure: the shared graph-only
 * `model.onnx` (opset 18, 104 weights in an external-data file, no token_type_ids, pooler
 * output `tanh`) next to an external-data file filled with seeded values of the right
 * layout. Outputs are meaningless; structure and latency are real. Deno only.
 *
 * @example
 * ```ts
 * import { writeMiniLmStructure } from "./minilm_structure.ts";
 * const { dir } = await writeMiniLmStructure("../shared/models/all-MiniLM-L6-v2", await Deno.makeTempDir());
 * ```
 * @module
 */
import onnxProto from "onnx-proto";
import { rng } from "../../src/random.ts";
import { externalDataLocations } from "../../src/model/onnx/external.ts";

/** Writes the model directory into `dir`; returns it and the external data file name. */
export async function writeMiniLmStructure(
  modelDir: string,
  dir: string,
  seed = 2026,
): Promise<{ dir: string; location: string }> {
  const graph = await Deno.readFile(`${modelDir}/onnx-graph-only/model.onnx`);
  await Deno.mkdir(`${dir}/onnx`, { recursive: true });
  await Deno.mkdir(`${dir}/1_Pooling`, { recursive: true });
  for (
    const f of [
      "config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "modules.json",
      "1_Pooling/config.json",
    ]
  ) {
    await Deno.copyFile(`${modelDir}/${f}`, `${dir}/${f}`);
  }
  await Deno.writeFile(`${dir}/onnx/model.onnx`, graph);
  const model = onnxProto.onnx.ModelProto.decode(graph);
  const [location] = externalDataLocations(graph);
  let size = 0;
  const tensors: { name: string; type: number; offset: number; length: number }[] = [];
  for (const t of model.graph!.initializer!) {
    if (t.dataLocation !== 1) continue;
    const kv = Object.fromEntries(t.externalData!.map((e) => [e.key, e.value]));
    if (t.dataType !== 1 && t.dataType !== 7) {
      throw new Error(`${t.name}: unexpected data type ${t.dataType}`);
    }
    const offset = Number(kv.offset ?? 0), length = Number(kv.length);
    tensors.push({ name: t.name!, type: t.dataType!, offset, length });
    size = Math.max(size, offset + length);
  }
  const data = new Float32Array(Math.ceil(size / 4));
  const r = rng(seed);
  for (const t of tensors) {
    if (t.type === 7) { // int64 buffers: position ids 0, 1, 2, …; token type ids 0
      const ints = new BigInt64Array(data.buffer, t.offset, t.length / 8);
      if (!/token_type/.test(t.name)) ints.forEach((_, i) => (ints[i] = BigInt(i)));
      continue;
    }
    const a = t.offset / 4, n = t.length / 4;
    const gain = /LayerNorm\.weight$/.test(t.name);
    for (let i = 0; i < n; i++) data[a + i] = gain ? 1 + (r() - 0.5) * 0.1 : (r() - 0.5) * 0.1;
  }
  await Deno.writeFile(`${dir}/onnx/${location}`, new Uint8Array(data.buffer, 0, size));
  return { dir, location };
}

/**
 * The MiniLM-structure model the benchmarks share, in `.cache/bench-minilm-structure`:
 * written on first use from `sharedDir`'s all-MiniLM-L6-v2, reused afterwards.
 *
 * @example
 * ```ts
 * import { benchMiniLmStructure } from "./minilm_structure.ts";
 * const dir = await benchMiniLmStructure("../shared");
 * ```
 */
export async function benchMiniLmStructure(sharedDir: string): Promise<string> {
  const dir = new URL("../../.cache/bench-minilm-structure/", import.meta.url).pathname;
  try {
    await Deno.stat(`${dir}/onnx/model.onnx`);
  } catch {
    await writeMiniLmStructure(`${sharedDir}/models/all-MiniLM-L6-v2`, dir);
  }
  return dir;
}
