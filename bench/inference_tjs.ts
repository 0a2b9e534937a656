/**
 * embedge (native) against transformers.js feature-extraction on onnxruntime-node, for
 * bench/inference.ts: the same texts and model, the same intra-op threads, request-sized
 * slices, interleaved; plus embedge batched as transformers.js batches, which splits the
 * gap into the code around the shared engine and embedge's length-sorted grouping.
 *
 * @example
 * ```ts ignore
 * import { compareTransformersJs } from "./inference_tjs.ts";
 * const { vsTjs, tjsMaxDiff } = await compareTransformersJs(embedder, {
 *   cache, texts, threads: 2, batches: [1, 8], reps: 5,
 * });
 * ```
 * @module
 */
import { env as tjsEnv, pipeline } from "@huggingface/transformers";
import type { Embedder } from "../src/model/embedder.ts";
import { interleaved } from "./sides.ts";
import { median } from "./machine.ts";

// embedge (native) vs transformers.js feature-extraction (onnxruntime-node) with the
// same intra-op threads, on the same texts and model. transformers.js wants the external
// data named onnx/model.onnx_data, so it reads a linked copy of the directory.
export async function compareTransformersJs(
  native: Embedder,
  { cache, texts, threads, batches, reps: REPS }: {
    /** The model directory (all-MiniLM-L6-v2's structure). */
    cache: string;
    texts: string[];
    /** onnxruntime-node's intra-op threads, on both sides. */
    threads: number;
    /** Slice sizes. */
    batches: number[];
    /** Interleaved repetitions. */
    reps: number;
  },
): Promise<{ vsTjs: Record<string, unknown>; tjsMaxDiff: number }> {
  const tjsRoot = new URL("../.cache/tjs/", import.meta.url).pathname;
  const tjsDir = `${tjsRoot}bench-minilm-structure`;
  await Deno.remove(tjsDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${tjsDir}/onnx`, { recursive: true });
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"]) {
    await Deno.link(`${cache}/${f}`, `${tjsDir}/${f}`);
  }
  for (const e of Deno.readDirSync(`${cache}/onnx`)) {
    if (e.name === "model.onnx") continue; // the graph's external data, under both names
    await Deno.link(`${cache}/onnx/${e.name}`, `${tjsDir}/onnx/${e.name}`);
    await Deno.link(`${cache}/onnx/${e.name}`, `${tjsDir}/onnx/model.onnx_data`).catch(() => {});
  }
  tjsEnv.allowRemoteModels = false;
  tjsEnv.localModelPath = tjsRoot;
  const extractor = await pipeline("feature-extraction", "bench-minilm-structure", {
    dtype: "fp32",
    device: "cpu",
    use_external_data_format: true,
    session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
  } as never);
  const vsTjs: Record<string, unknown> = {};
  const sameBatching = {
    pooling: "mean",
    normalize: true,
    maxPaddingWaste: Infinity,
    batchTokens: 1 << 20, // the largest allowed: no call is split
  } as const;
  let tjsMaxDiff = 0;
  for (const bs of batches) {
    const slices = Array.from(
      { length: Math.ceil(texts.length / bs) },
      (_, i) => texts.slice(i * bs, (i + 1) * bs),
    );
    const t = await interleaved({
      embedge: async () => {
        for (const s of slices) await native.embed(s, { pooling: "mean", normalize: true });
      },
      // embedge batched as transformers.js batches (each call one run, padded to its longest
      // text): the gap to transformers.js is then the engine and the code around it, and the
      // gap to `embedge` is what embedge's length-sorted grouping buys
      embedgeAsPadded: async () => {
        for (const s of slices) await native.embed(s, sameBatching);
      },
      transformersJs: async () => {
        for (const s of slices) await extractor(s, { pooling: "mean", normalize: true });
      },
    }, REPS);
    const a = (await native.embed(slices[0], { pooling: "mean", normalize: true })).data;
    const b = (await extractor(slices[0], { pooling: "mean", normalize: true }))
      .data as Float32Array;
    for (let i = 0; i < a.length; i++) tjsMaxDiff = Math.max(tjsMaxDiff, Math.abs(a[i] - b[i]));
    const sps = (ms: number) => texts.length / (ms / 1000);
    vsTjs[`batch ${bs}`] = {
      embedge: sps(median(t.embedge)),
      embedgeRange: [sps(Math.max(...t.embedge)), sps(Math.min(...t.embedge))],
      embedgeAsPadded: sps(median(t.embedgeAsPadded)),
      embedgeAsPaddedRange: [
        sps(Math.max(...t.embedgeAsPadded)),
        sps(Math.min(...t.embedgeAsPadded)),
      ],
      transformersJs: sps(median(t.transformersJs)),
      transformersJsRange: [sps(Math.max(...t.transformersJs)), sps(Math.min(...t.transformersJs))],
      ratio: median(t.transformersJs) / median(t.embedge),
      // same engine and same batching: what is left is embedge's code around the model
      sameBatchingRatio: median(t.transformersJs) / median(t.embedgeAsPadded),
      // same engine, same code: what embedge's length-sorted grouping adds
      batchingRatio: median(t.embedgeAsPadded) / median(t.embedge),
    };
    console.error(`transformers.js batch ${bs}: ${JSON.stringify(vsTjs[`batch ${bs}`])}`);
  }
  return { vsTjs, tjsMaxDiff };
}
