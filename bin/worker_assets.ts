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
 * ```
 * @module
 */
import { runCli, UsageError } from "./run_cli.ts";
import { PART_BYTES, partName, type PartsManifest } from "../edge/assets.ts";
import { readModelFiles } from "../src/model/files.ts";
import {
  PRECOMPILED_TOKENIZER,
  precompileModelTokenizer,
  TOKENIZER_FILES,
} from "../src/model/tokenizer_files.ts";

/** Writes `outDir` from `modelDir`; returns the number of files split into parts. */
export async function prepareWorkerAssets(
  modelDir: string,
  outDir: string,
  partBytes = PART_BYTES,
): Promise<number> {
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
    const [modelDir, outDir] = Deno.args;
    const usage = "usage: worker_assets MODEL_DIR OUT_DIR";
    if (modelDir === "--help" || modelDir === "-h") {
      console.log(usage);
      return 0;
    }
    if (!modelDir || !outDir || Deno.args.length > 2) throw new UsageError(usage);
    const split = await prepareWorkerAssets(modelDir, outDir);
    console.error(`${outDir}: assets ready (${split} file(s) split into ≤ 24 MiB parts)`);
    return 0;
  });
}
