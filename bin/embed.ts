/**
 * `embed`: BERT embeddings on the command line, walking through the steps as the classic
 * "I love Paris." example does — tokens, padded tokens, attention mask, token ids, output
 * shape, per-token vectors and the sentence vector — or embedding a file or stdin line by
 * line to JSONL.
 *
 * The model: `--model`, else `EMBEDGE_MODEL`, else all-MiniLM-L6-v2 when a copy with weights
 * is found, else `../shared/models/embedge-mini-simcse` (src/model/default_model.ts). A
 * named directory without weights is refused; embedge's generated BERT with random weights
 * runs only with `--demo-model`, and then every output says so.
 *
 * @example
 * ```sh
 * deno run -A bin/embed.ts "I love Paris."
 * deno run -A bin/embed.ts --similarity "I love Paris." "I adore Paris." "I hate traffic."
 * deno run -A bin/embed.ts --pooling cls --words --pad-to 12 "I love Paris."
 * deno run -A bin/embed.ts --json "I love Paris."
 * deno run -A bin/embed.ts --file sentences.txt > vectors.jsonl
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import {
  downloadBars,
  joinLayerValues,
  parseLayers,
  progressBar,
  runCli,
  writeOut,
} from "./run_cli.ts";
import { tokenSteps, wholeNumber } from "./tokenize.ts";
import type { Dtype, Embedder, EmbedOptions } from "../src/model/embedder.ts";
import type { Backend } from "../src/model/engine/runtimes.ts";
import type { Pooling } from "../src/model/pooling.ts";
import { cosine } from "../src/model/similarity.ts";
import {
  chooseDemoModel,
  chooseModel,
  loadChoice,
  type ModelChoice,
} from "../src/model/default_model.ts";

const HELP = `usage: embed [options] [text ...]   (each text is one input)
  --model DIR|ID     model directory (Hub layout) or Hub id; default: EMBEDGE_MODEL, else
                     all-MiniLM-L6-v2 (../shared or the Hub cache) if it has weights, else
                     ../shared/models/embedge-mini-simcse
  --demo-model       embedge's generated BERT with random weights (--model's tokenizer):
                     the steps are real, the vectors mean nothing
  --pooling MODE     cls | mean | max | mean_max | pooler (default: the model's)
  --layers=LIST      encoder layers to read, e.g. --layers=-2 or --layers=-4,-3,-2,-1
                     (0 the embeddings, -1 the last layer: the default)
  --layer-mix MODE   how several layers combine per token: mean (default) | concat
  --prompt-name NAME put the model's prompt NAME (config_sentence_transformers.json, e.g.
                     query) before each text (default: the model's default prompt, if any)
  --normalize        L2-normalize sentence vectors (--no-normalize to turn off)
  --max-length N     truncate inputs to N tokens
  --pad-to N         pad the walkthrough's row to N tokens (default 8; never cuts a text)
  --similarity       also print the cosine similarity of every pair of texts
  --words            also print word vectors (subwords averaged per word)
  --json             machine output (one JSON object; with --file one JSON array, not JSONL)
  --file PATH        embed each line of PATH ('-' for stdin) to JSONL: {line, tokens, embedding},
                     empty lines as {line, skipped, embedding: null}; --words adds word vectors
  --text             with --file: include each line's text
  --batch-tokens N   cells per session.run (default 16384)
  --backend NAME     auto (default: native onnxruntime-node where it loads) | native | wasm
  --dtype NAME       fp32 (default) | int8 | fp16: the model's published variant (onnx/model_int8.onnx …)
  --threads N        inference threads (native default: all cores; wasm default: 1)
  -h, --help         this text`;

const vec = (v: ArrayLike<number>, n: number) =>
  `[${Array.from(v).slice(0, n).map((x) => x.toFixed(4)).join(", ")}${v.length > n ? ", …" : ""}]`;

/** The command line, parsed (unknown flags are refused by name). */
function parse(args: string[]) {
  return parseArgs({
    args: joinLayerValues(args),
    options: {
      model: { type: "string" },
      "demo-model": { type: "boolean", default: false },
      pooling: { type: "string" },
      layers: { type: "string" },
      "layer-mix": { type: "string" },
      "prompt-name": { type: "string" },
      normalize: { type: "boolean" },
      "no-normalize": { type: "boolean" },
      "max-length": { type: "string" },
      "pad-to": { type: "string", default: "8" },
      similarity: { type: "boolean", default: false },
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
}
type Flags = ReturnType<typeof parse>["values"];

/** The model of the flags: --demo-model, --model, EMBEDGE_MODEL or the default order. */
async function load(a: Flags): Promise<{ embedder: Embedder; choice: ModelChoice }> {
  const choice = a["demo-model"] ? await chooseDemoModel(a.model) : await chooseModel(a.model);
  if (choice.note) console.error(choice.note);
  const embedder = await loadChoice(choice, {
    ...(a.backend ? { backend: a.backend as Backend } : {}),
    ...(a.dtype ? { dtype: a.dtype as Dtype } : {}),
    ...(a.threads !== undefined ? { threads: Number(a.threads) } : {}),
    onDownload: downloadBars(),
  });
  return { embedder, choice };
}

async function main(): Promise<number> {
  const { values: a, positionals } = parse(Deno.args);
  if (a.help) {
    console.log(HELP);
    return 0;
  }
  const options: EmbedOptions = {
    pooling: a.pooling as Pooling | undefined,
    normalize: a["no-normalize"] ? false : a.normalize ? true : undefined,
    maxLength: a["max-length"] ? wholeNumber("max-length", a["max-length"], 2) : undefined,
    batchTokens: a["batch-tokens"] ? Number(a["batch-tokens"]) : undefined,
    layers: parseLayers(a.layers),
    layerMix: a["layer-mix"] as EmbedOptions["layerMix"],
    promptName: a["prompt-name"],
  };
  const padTo = wholeNumber("pad-to", a["pad-to"]!, 0);
  const { embedder, choice } = await load(a);
  try {
    if (a.file) await embedFile(embedder, a, options, choice.demo === true);
    else await walkthrough(embedder, positionals, a, options, padTo, choice.demo === true);
  } finally {
    await embedder.close();
  }
  return 0;
}

/** `--file`: one JSON row per line of the file (or stdin). */
async function embedFile(
  embedder: Embedder,
  a: Flags,
  options: EmbedOptions,
  demo: boolean,
): Promise<void> {
  const text = a.file === "-"
    ? await new Response(Deno.stdin.readable).text()
    : await Deno.readTextFile(a.file!);
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
    // a random model's rows say so, each of them: rows travel apart from stderr's note
    const base = {
      line: i + 1,
      ...(a.text ? { text: l } : {}),
      ...(demo ? { randomWeights: true } : {}),
    };
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
  if (a.json) await writeOut(JSON.stringify(rows) + "\n");
  else for (const row of rows) await writeOut(JSON.stringify(row) + "\n");
}

/** The steps of one text as the model ran them (one JSON object's fields). */
async function steps(embedder: Embedder, text: string, options: EmbedOptions, padTo: number) {
  const tok = embedder.tokenizer;
  // the steps show the text as the model runs it: the prompt's tokens first
  const plain = tok.encode(
    embedder.promptText(options) + text,
    options.maxLength ? { maxLength: options.maxLength, truncation: true } : {},
  );
  const [tokens] = await embedder.embedTokens([text], options);
  const h = tokens.hiddenSize;
  return {
    text,
    ...tokenSteps(tok, plain, padTo, options.maxLength),
    outputShape: [1, tokens.ids.length, h],
    tokenVectors: plain.tokens.map((t, i) => ({
      token: t,
      vector: Array.from(tokens.vectors.subarray(i * h, (i + 1) * h)),
    })),
  };
}

/** The walkthrough of each text, then (`--similarity`) the cosine of every pair. */
async function walkthrough(
  embedder: Embedder,
  positionals: string[],
  a: Flags,
  options: EmbedOptions,
  padTo: number,
  demo: boolean,
): Promise<void> {
  // every positional text is its own input: `embed "I love Paris." "I adore Paris."`
  const texts = positionals.length ? positionals : ["I love Paris."];
  const sentences = await embedder.embed(texts, options);
  const d = sentences.dims[1];
  const sentence = (i: number) => sentences.data.subarray(i * d, (i + 1) * d);
  const similarity = a.similarity
    ? texts.map((_, i) => texts.map((_, j) => cosine(sentence(i), sentence(j))))
    : undefined;
  const inputs = [];
  for (const [i, text] of texts.entries()) {
    const words = a.words ? (await embedder.embedWords([text], options))[0] : null;
    inputs.push({
      ...await steps(embedder, text, options, padTo),
      words: words?.words.map((w, k) => ({
        word: w,
        vector: Array.from(
          words.vectors.subarray(k * words.hiddenSize, (k + 1) * words.hiddenSize),
        ),
      })),
      pooling: sentences.pooling,
      normalized: sentences.normalized,
      sentenceVector: Array.from(sentence(i)),
    });
  }
  const head = { model: embedder.info.modelId, ...(demo ? { randomWeights: true } : {}) };
  if (a.json) {
    const body = inputs.length === 1 && !similarity
      ? { ...head, ...inputs[0] }
      : { ...head, inputs, ...(similarity ? { similarity } : {}) };
    await writeOut(JSON.stringify(body) + "\n");
    return;
  }
  const out: string[] = [];
  const line = (k: string, v: string) =>
    out.push(`${k.padEnd(18)} ${v}`.replace(/^(\S.{17}) /, "$1"));
  line(
    "model:",
    `${embedder.info.modelId} (${embedder.info.onnxFile})${demo ? " RANDOM WEIGHTS" : ""}`,
  );
  line(
    "backend:",
    `${embedder.info.backend} (${embedder.info.engine}, ${
      embedder.info.threads || "default"
    } threads)`,
  );
  for (const input of inputs) printSteps(input, options, d, line, out);
  if (similarity) {
    out.push(`cosine similarity${demo ? " (random vectors: meaningless)" : ""}:`);
    similarity.forEach((row, i) =>
      out.push(`  [${i + 1}] ${row.map((c) => c.toFixed(4).padStart(7)).join(" ")}  ${texts[i]}`)
    );
  }
  if (demo) out.push("note: --demo-model: random weights, these vectors mean nothing");
  await writeOut(out.join("\n") + "\n");
}

/** One text's walkthrough lines. */
function printSteps(
  s: Awaited<ReturnType<typeof steps>> & {
    words?: { word: string; vector: number[] }[];
    pooling: string;
    normalized: boolean;
    sentenceVector: number[];
  },
  options: EmbedOptions,
  dims: number,
  line: (k: string, v: string) => void,
  out: string[],
): void {
  line("text:", s.text);
  line("tokens:", s.tokens.join(" "));
  line(`padded (${s.inputIds.length}):`, s.paddedTokens.join(" "));
  line("attention mask:", s.attentionMask.join(" "));
  line("token ids:", s.inputIds.join(" "));
  line("token type ids:", s.tokenTypeIds.join(" "));
  line("output shape:", `[${s.outputShape.join(", ")}] (batch, tokens, hidden)`);
  out.push("token vectors:");
  for (const t of s.tokenVectors) out.push(`  ${t.token.padEnd(14)}${vec(t.vector, 6)}`);
  if (s.words) {
    out.push("word vectors (mean of subwords):");
    for (const w of s.words) out.push(`  ${w.word.padEnd(14)}${vec(w.vector, 6)}`);
  }
  if (options.layers) {
    line("layers:", `${options.layers.join(", ")} (${options.layerMix ?? "mean"})`);
  }
  line(
    `sentence (${s.pooling}${s.normalized ? ", L2" : ""}):`,
    `${vec(s.sentenceVector, 8)}  (${dims} dims)`,
  );
}

if (import.meta.main) await runCli(main);
