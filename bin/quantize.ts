/**
 * `embedge quantize`: writes the int8 variant of a model (`onnx/model_int8.onnx`) beside
 * its fp32 `onnx/model.onnx`, then `--dtype int8` (CLI), `EMBEDGE_DTYPE=int8` (server) or
 * `dtype: "int8"` (library) loads it. With `--check N`, embeds N sentences of a text file
 * with both models and prints how close the vectors are.
 *
 * @example
 * ```sh
 * deno task quantize --model ../shared/models/all-MiniLM-L6-v2-copy
 * deno task quantize --model my-model --check 200 --sentences ../shared/corpus/big.txt
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { quantize } from "../src/model/onnx/quantize.ts";
import { resolveModel } from "../src/model/hub.ts";
import { Embedder } from "../src/model/embedder.ts";
import { cosine } from "../src/model/similarity.ts";
import { progressBar, refuseKernelPath, runCli, UsageError } from "./run_cli.ts";

const HELP = `usage: quantize --model DIR|owner/name [options]
  --model M            model directory in the Hub layout, or a Hub id (from the cache)
  --output FILE        where to write (default MODEL/onnx/model_int8.onnx)
  --reduce-range       weights within ±63 (for x86 CPUs with AVX2 but no VNNI)
  --float-embeddings   keep the word-embedding table in float32
  --check N            embed N sentences with both models and print the cosines
  --sentences FILE     text file for --check, one sentence per line
  -h, --help           this text`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string" },
      output: { type: "string" },
      "reduce-range": { type: "boolean", default: false },
      "float-embeddings": { type: "boolean", default: false },
      check: { type: "string" },
      sentences: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model) throw new UsageError("--model is required (see --help)");
  const check = values.check === undefined ? 0 : Number(values.check);
  if (!Number.isInteger(check) || check < 0) {
    throw new UsageError(`--check must be a whole number, got ${values.check}`);
  }
  if (check > 0 && !values.sentences) throw new UsageError("--check needs --sentences FILE");
  if (values.output) await refuseKernelPath("--output", values.output);
  const dir = await resolveModel(values.model);
  if (check > 0 && values.output && !values.output.startsWith(`${dir}/`)) {
    throw new UsageError(
      "--check loads the int8 model from the model directory: --output must be inside it",
    );
  }
  const started = performance.now();
  const report = await quantize(dir, {
    output: values.output,
    reduceRange: values["reduce-range"],
    embeddings: !values["float-embeddings"],
  });
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  console.log(
    `wrote ${report.file}: ${mb(report.bytesAfter)} (${
      (100 * report.bytesAfter / report.bytesBefore).toFixed(1)
    } % of ${mb(report.bytesBefore)}), ${report.projections} projections and ` +
      `${report.embeddingTables} embedding table(s) int8, in ${
        ((performance.now() - started) / 1000).toFixed(1)
      } s`,
  );
  for (const reason of report.skipped) console.log(`left in float32: ${reason}`);
  if (check > 0) {
    const texts = (await Deno.readTextFile(values.sentences!)).split("\n").map((l) => l.trim())
      .filter((l) => l.length > 0).slice(0, check);
    const fp32 = await Embedder.load(dir);
    const int8 = await Embedder.load(dir, { onnxFile: report.file.slice(dir.length + 1) });
    const options = { pooling: "mean", normalize: true, onProgress: progressBar("check") } as const;
    const [a, b] = [await fp32.embed(texts, options), await int8.embed(texts, options)];
    const w = a.dims[1], row = (e: typeof a, i: number) => e.data.subarray(i * w, (i + 1) * w);
    const cosines = texts.map((_, i) => cosine(row(a, i), row(b, i)));
    const mean = cosines.reduce((x, y) => x + y, 0) / cosines.length;
    console.log(
      `cosine int8 vs fp32 over ${texts.length} sentences (mean pooling): mean ${
        mean.toFixed(6)
      }, min ${Math.min(...cosines).toFixed(6)} (${fp32.info.backend} backend)`,
    );
  }
  return 0;
}

if (import.meta.main) await runCli(main);
