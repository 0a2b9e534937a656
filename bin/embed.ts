/**
 * `embed`: BERT embeddings on the command line, walking through the steps as the classic
 * "I love Paris." example does — tokens, padded tokens, attention mask, token ids, output
 * shape, per-token vectors and the sentence vector — or embedding a file or stdin line by
 * line to JSONL.
 *
 * When the model directory has no `onnx/model.onnx` (as `../shared/models/all-MiniLM-L6-v2`
 * today), it says so and uses embedge's generated demo BERT (seeded random weights, the
 * same tokenizer) from `.cache/demo-model`: the steps are real, the vectors mean nothing.
 *
 * @example
 * ```sh
 * deno run -A bin/embed.ts "I love Paris."
 * deno run -A bin/embed.ts --pooling cls --words --pad-to 12 "I love Paris."
 * deno run -A bin/embed.ts --json "I love Paris."
 * deno run -A bin/embed.ts --file sentences.txt > vectors.jsonl
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { downloadBars, joinLayerValues, parseLayers, progressBar, runCli } from "./run_cli.ts";
import { tokenSteps } from "./tokenize.ts";
import type { Dtype, EmbedOptions } from "../src/model/embedder.ts";
import type { Backend } from "../src/model/runtimes.ts";
import type { Pooling } from "../src/model/pooling.ts";
import { defaultModel, ensureDemoModel, loadOrDemo } from "../src/model/demo_model.ts";

const DEFAULT_MODEL = defaultModel();

const HELP = `usage: embed [options] [text ...]
  --model DIR        model directory (Hub layout; default ${DEFAULT_MODEL})
  --pooling MODE     cls | mean | max | mean_max | pooler (default: the model's)
  --layers=LIST      encoder layers to read, e.g. --layers=-2 or --layers=-4,-3,-2,-1
                     (0 the embeddings, -1 the last layer: the default)
  --layer-mix MODE   how several layers combine per token: mean (default) | concat
  --normalize        L2-normalize sentence vectors (--no-normalize to turn off)
  --max-length N     truncate inputs to N tokens
  --pad-to N         padding length shown in the walkthrough (default 8)
  --words            also print word vectors (subwords averaged per word)
  --json             machine output (one JSON object; with --file one JSON array, not JSONL)
  --file PATH        embed each line of PATH ('-' for stdin) to JSONL: {line, tokens, embedding},
                     empty lines as {line, skipped, embedding: null}; --words adds word vectors
  --text             with --file: include each line's text
  --batch-tokens N   cells per session.run (default 16384)
  --backend NAME     auto (default: native onnxruntime-node where it loads) | native | wasm
  --dtype NAME       fp32 (default) | int8 | fp16: the model's published variant (onnx/model_int8.onnx …)
  --threads N        inference threads (native default: all cores; wasm default: 1)
  --demo-model [DIR] write the generated demo model (DIR's tokenizer) and print its directory
  -h, --help         this text`;

const vec = (v: ArrayLike<number>, n: number) =>
  `[${Array.from(v).slice(0, n).map((x) => x.toFixed(4)).join(", ")}${v.length > n ? ", …" : ""}]`;

async function main(): Promise<number> {
  const { values: a, positionals } = parseArgs({
    args: joinLayerValues(Deno.args),
    options: {
      model: { type: "string", default: DEFAULT_MODEL },
      pooling: { type: "string" },
      layers: { type: "string" },
      "layer-mix": { type: "string" },
      normalize: { type: "boolean" },
      "no-normalize": { type: "boolean" },
      "max-length": { type: "string" },
      "pad-to": { type: "string", default: "8" },
      words: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      text: { type: "boolean", default: false },
      file: { type: "string" },
      "batch-tokens": { type: "string" },
      backend: { type: "string", default: Deno.env.get("EMBEDGE_BACKEND") },
      dtype: { type: "string", default: Deno.env.get("EMBEDGE_DTYPE") },
      threads: { type: "string", default: Deno.env.get("EMBEDGE_THREADS") },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (a.help) {
    console.log(HELP);
    return 0;
  }
  const embedder = await loadOrDemo(a.model!, (s) => console.error(s), {
    ...(a.backend ? { backend: a.backend as Backend } : {}),
    ...(a.dtype ? { dtype: a.dtype as Dtype } : {}),
    ...(a.threads !== undefined ? { threads: Number(a.threads) } : {}),
    onDownload: downloadBars(),
  });
  const options: EmbedOptions = {
    pooling: a.pooling as Pooling | undefined,
    normalize: a["no-normalize"] ? false : a.normalize ? true : undefined,
    maxLength: a["max-length"] ? Number(a["max-length"]) : undefined,
    batchTokens: a["batch-tokens"] ? Number(a["batch-tokens"]) : undefined,
    layers: parseLayers(a.layers),
    layerMix: a["layer-mix"] as EmbedOptions["layerMix"],
  };

  if (a.file) {
    const text = a.file === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(a.file);
    // one row per line, numbered from 1; a final newline ends the last line
    const lines = text.split(/\r?\n/);
    if (lines.length && lines[lines.length - 1] === "") lines.pop();
    const kept = lines.flatMap((l, i) => (l.trim().length ? [i] : []));
    const out = await embedder.embed(kept.map((i) => lines[i]), {
      ...options,
      onProgress: progressBar(),
    });
    const words = a.words && kept.length
      ? await embedder.embedWords(kept.map((i) => lines[i]), options)
      : [];
    const d = out.dims[1];
    const at = new Map(kept.map((line, k) => [line, k]));
    const rows = lines.map((l, i) => {
      const k = at.get(i);
      const base = { line: i + 1, ...(a.text ? { text: l } : {}) };
      // an empty or whitespace-only line has no tokens to embed: a row that says so
      if (k === undefined) return { ...base, skipped: "empty line", embedding: null };
      const w = words[k];
      return {
        ...base,
        tokens: out.tokenCounts[k],
        embedding: Array.from(out.data.subarray(k * d, (k + 1) * d)),
        ...(w
          ? {
            words: w.words.map((word, j) => ({
              word,
              start: w.offsets[2 * j],
              stop: w.offsets[2 * j + 1],
              vector: Array.from(w.vectors.subarray(j * w.hiddenSize, (j + 1) * w.hiddenSize)),
            })),
          }
          : {}),
      };
    });
    const enc = new TextEncoder();
    if (a.json) await Deno.stdout.write(enc.encode(JSON.stringify(rows) + "\n"));
    else for (const row of rows) await Deno.stdout.write(enc.encode(JSON.stringify(row) + "\n"));
    return 0;
  }

  const text = positionals.join(" ") || "I love Paris.";
  const tok = embedder.tokenizer;
  const padTo = Number(a["pad-to"]);
  const plain = tok.encode(
    text,
    options.maxLength ? { maxLength: options.maxLength, truncation: true } : {},
  );
  const padded = tok.encode(text, {
    padding: "max_length",
    maxLength: Math.max(padTo, 2),
    truncation: true,
  });
  const [tokens] = await embedder.embedTokens([text], options);
  const sentence = await embedder.embed([text], options);
  const words = a.words ? (await embedder.embedWords([text], options))[0] : null;
  const h = tokens.hiddenSize;

  if (a.json) {
    console.log(JSON.stringify({
      model: embedder.info.modelId,
      text,
      ...tokenSteps(plain, padded),
      outputShape: [1, tokens.ids.length, h],
      tokenVectors: plain.tokens.map((t, i) => ({
        token: t,
        vector: Array.from(tokens.vectors.subarray(i * h, (i + 1) * h)),
      })),
      words: words?.words.map((w, i) => ({
        word: w,
        vector: Array.from(words.vectors.subarray(i * h, (i + 1) * h)),
      })),
      pooling: sentence.pooling,
      normalized: sentence.normalized,
      sentenceVector: Array.from(sentence.data),
    }));
    return 0;
  }
  const line = (k: string, v: string) =>
    console.log(`${k.padEnd(18)} ${v}`.replace(/^(\S.{17}) /, "$1"));
  line("model:", `${embedder.info.modelId} (${embedder.info.onnxFile})`);
  line(
    "backend:",
    `${embedder.info.backend} (${embedder.info.engine}, ${
      embedder.info.threads || "default"
    } threads)`,
  );
  line("text:", text);
  line("tokens:", plain.tokens.join(" "));
  line(`padded (${padded.ids.length}):`, padded.tokens.join(" "));
  line("attention mask:", Array.from(padded.attentionMask).join(" "));
  line("token ids:", Array.from(padded.ids).join(" "));
  line("token type ids:", Array.from(padded.typeIds).join(" "));
  line("output shape:", `[1, ${tokens.ids.length}, ${h}] (batch, tokens, hidden)`);
  console.log("token vectors:");
  plain.tokens.forEach((t, i) =>
    console.log(`  ${t.padEnd(14)}${vec(tokens.vectors.subarray(i * h, (i + 1) * h), 6)}`)
  );
  if (words) {
    console.log("word vectors (mean of subwords):");
    words.words.forEach((w, i) =>
      console.log(`  ${w.padEnd(14)}${vec(words.vectors.subarray(i * h, (i + 1) * h), 6)}`)
    );
  }
  if (options.layers) {
    line("layers:", `${options.layers.join(", ")} (${options.layerMix ?? "mean"})`);
  }
  line(
    `sentence (${sentence.pooling}${sentence.normalized ? ", L2" : ""}):`,
    `${vec(sentence.data, 8)}  (${sentence.dims[1]} dims)`,
  );
  return 0;
}

if (import.meta.main && Deno.args[0] === "--demo-model") {
  // used by `deno task worker`: the Worker serves the demo model from its assets directory
  console.log(await ensureDemoModel(Deno.args[1] ?? DEFAULT_MODEL));
} else if (import.meta.main) {
  await runCli(main);
}
