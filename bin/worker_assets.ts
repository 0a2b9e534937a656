/**
 * `worker_assets`: prepares a model directory as the Worker's static-assets directory.
 * Files up to 24 MiB are linked (or copied); larger ones (weights, external data) are
 * split into parts with a manifest that `edge/assets.ts` reassembles, since Workers
 * assets are limited to 25 MiB a file. The tokenizer is precompiled into
 * `embedge-tokenizer.bin`, so a cold Worker copies its trie instead of building it. Point
 * `assets.directory` in `edge/wrangler.jsonc` at the result.
 *
 * @example
 * ```sh
 * deno run -A bin/worker_assets.ts ../shared/models/all-MiniLM-L6-v2 .cache/worker-assets
 * deno run -A bin/worker_assets.ts --dtype int8 my-model .cache/worker-assets  # after `quantize`
 * ```
 * @module
 */
import { runCli, UsageError } from "./run_cli.ts";
import { PART_BYTES, partName, type PartsManifest } from "../edge/assets.ts";
import { readModelFiles } from "../src/model/files.ts";
import { type Dtype, DTYPE_FILES } from "../src/model/embedder.ts";
import { externalDataLocations } from "../src/model/onnx/external.ts";
import { parseArgs } from "node:util";
import { chooseModel, requireWeights } from "../src/model/default_model.ts";
import { isHubId } from "../src/model/hub.ts";
import {
  PRECOMPILED_TOKENIZER,
  precompileModelTokenizer,
  TOKENIZER_FILES,
} from "../src/model/tokenizer_files.ts";

/**
 * The files under `onnx/` that the `dtype` variant needs: its ONNX file (the first of
 * the Hub's names that exists) and the external data it references.
 */
async function variantFiles(modelDir: string, dtype: Dtype): Promise<Set<string>> {
  for (const file of DTYPE_FILES[dtype]) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(`${modelDir}/${file}`);
    } catch {
      continue;
    }
    const folder = file.slice(0, file.lastIndexOf("/") + 1);
    return new Set([file, ...externalDataLocations(bytes).map((l) => folder + l)]);
  }
  throw new UsageError(`${modelDir} has no ${dtype} model (${DTYPE_FILES[dtype].join(" or ")})`);
}

/**
 * Writes `outDir` from `modelDir`; returns the number of files split into parts. With
 * `dtype`, only that variant's ONNX file (and its external data) goes under `onnx/`, so
 * that an int8 Worker does not also ship the fp32 weights.
 */
export async function prepareWorkerAssets(
  modelDir: string,
  outDir: string,
  partBytes = PART_BYTES,
  dtype?: Dtype,
): Promise<number> {
  const keep = dtype ? await variantFiles(modelDir, dtype) : undefined;
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  let split = 0;
  const walk = async (rel: string): Promise<void> => {
    await Deno.mkdir(`${outDir}/${rel}`, { recursive: true });
    for await (const e of Deno.readDir(`${modelDir}/${rel}`)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) {
        await walk(path);
        continue;
      }
      if (keep && path.startsWith("onnx/") && !keep.has(path)) continue;
      const src = `${modelDir}/${path}`, dst = `${outDir}/${path}`;
      const { size } = await Deno.stat(src);
      if (size <= partBytes) {
        await Deno.link(src, dst).catch(() => Deno.copyFile(src, dst));
        continue;
      }
      split++;
      const file = await Deno.open(src);
      const parts = Math.ceil(size / partBytes);
      const buf = new Uint8Array(partBytes);
      for (let i = 0; i < parts; i++) {
        let n = 0;
        while (n < buf.length) {
          const r = await file.read(buf.subarray(n));
          if (r === null) break;
          n += r;
        }
        await Deno.writeFile(`${outDir}/${partName(path, i)}`, buf.subarray(0, n));
      }
      file.close();
      const manifest: PartsManifest = { size, parts };
      await Deno.writeTextFile(`${dst}.parts.json`, JSON.stringify(manifest));
    }
  };
  await walk("");
  const files = await readModelFiles(modelDir, TOKENIZER_FILES).catch(() => undefined);
  if (files?.get("tokenizer.json") || files?.get("vocab.txt")) {
    const dst = `${outDir}/${PRECOMPILED_TOKENIZER}`;
    await Deno.remove(dst).catch(() => {}); // may be a hard link into modelDir
    await Deno.writeFile(dst, await precompileModelTokenizer(files));
  }
  return split;
}

if (import.meta.main) {
  await runCli(async () => {
    const { values, positionals } = parseArgs({
      args: Deno.args,
      options: { dtype: { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
    });
    const usage = `usage: worker_assets [--dtype ${
      Object.keys(DTYPE_FILES).join("|")
    }] [MODEL_DIR] OUT_DIR
  MODEL_DIR   default: the default model (EMBEDGE_MODEL, else all-MiniLM-L6-v2 with weights,
              else ../shared/models/embedge-mini-simcse)
  --dtype D   ship only that variant's ONNX file (set EMBEDGE_DTYPE=D in the Worker)
Prints the model's name on stdout (the Worker's EMBEDGE_MODEL_ID).`;
    if (values.help) {
      console.log(usage);
      return 0;
    }
    if (positionals.length < 1 || positionals.length > 2) throw new UsageError(usage);
    // one directory: the out directory, for the model every tool uses by default
    const choice = positionals.length === 2
      ? { source: positionals[0], modelId: undefined }
      : await chooseModel();
    const outDir = positionals[positionals.length - 1], modelDir = choice.source;
    if (isHubId(modelDir) && !(await Deno.stat(modelDir).catch(() => undefined))) {
      throw new UsageError(`${modelDir}: give a model directory (a Hub id is not read here)`);
    }
    await requireWeights(modelDir);
    const dtype = values.dtype;
    if (dtype !== undefined && !Object.hasOwn(DTYPE_FILES, dtype)) {
      throw new UsageError(`--dtype must be one of ${Object.keys(DTYPE_FILES).join(", ")}`);
    }
    const split = await prepareWorkerAssets(modelDir, outDir, PART_BYTES, dtype as Dtype);
    console.error(`${outDir}: assets ready (${split} file(s) split into ≤ 24 MiB parts)`);
    console.log(choice.modelId ?? modelDir.replace(/\/+$/, "").split("/").pop());
    return 0;
  });
}
