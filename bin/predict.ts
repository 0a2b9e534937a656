/**
 * `predict`: a fine-tuned sequence-classification model (a `…ForSequenceClassification`
 * export, output `logits`, `id2label` in config.json) on texts and text pairs: one line per
 * input with its labels and scores, best first, or `--json`. Unlike `classify predict`
 * (logistic regression on sentence vectors), the model itself holds the classifier head.
 *
 * @example
 * ```sh
 * deno run -A bin/predict.ts --model ../shared/models/embedge-mini-sst2 "i love paris ." "i hate traffic ."
 * deno run -A bin/predict.ts --model ../shared/models/embedge-mini-sst2 --pair "a question" "a passage" --top-k 1 --json
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { runCli, UsageError } from "./run_cli.ts";
import {
  type ClassifyInput,
  type ClassifyOptions,
  TextClassifier,
} from "../src/model/classify/text_classifier.ts";
import type { ScoreFunction } from "../src/model/classify/scores.ts";
import type { Backend } from "../src/model/engine/runtimes.ts";

const HELP = `usage: predict --model DIR [options] [text ...] [--pair A B ...]
  --model DIR                 a sequence-classification model directory (Hub layout:
                              config.json with id2label, tokenizer files, onnx/model.onnx
                              with a logits output)
  --pair A B                  classify the pair (A, B) as one input (repeatable)
  --top-k N                   labels printed per input (default: all)
  --function NAME             softmax | sigmoid | none (raw logits); default: the model's
  --max-length N              token limit per input (default: the model's)
  --no-truncate               refuse inputs over the limit instead of cutting them
  --truncation-direction D    right (default) | left (refused when something must be cut:
                              the tokenizer cuts on the right only)
  --json                      one JSON array: per input {input, labels: [{label, score}]}
  --backend NAME              auto (default) | native | wasm
  --threads N                 inference threads
  -h, --help                  this text`;

/** `--pair A B` taken out of the arguments (parseArgs takes one value per option). */
export function takePairs(args: string[]): { rest: string[]; pairs: [string, string][] } {
  const rest: string[] = [], pairs: [string, string][] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== "--pair") {
      rest.push(args[i]);
      continue;
    }
    const [a, b] = [args[i + 1], args[i + 2]];
    if (a === undefined || b === undefined) {
      throw new UsageError("--pair needs two texts: --pair A B");
    }
    pairs.push([a, b]);
    i += 2;
  }
  return { rest, pairs };
}

async function main(): Promise<number> {
  const { rest, pairs } = takePairs(Deno.args);
  const { values: a, positionals } = parseArgs({
    args: rest,
    options: {
      model: { type: "string" },
      "top-k": { type: "string" },
      function: { type: "string" },
      "max-length": { type: "string" },
      "no-truncate": { type: "boolean", default: false },
      "truncation-direction": { type: "string" },
      json: { type: "boolean", default: false },
      backend: { type: "string", default: Deno.env.get("EMBEDGE_BACKEND") },
      threads: { type: "string", default: Deno.env.get("EMBEDGE_THREADS") },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (a.help) {
    console.log(HELP);
    return 0;
  }
  if (!a.model) throw new UsageError("--model DIR is required (a sequence-classification model)");
  const inputs: ClassifyInput[] = [...positionals, ...pairs];
  if (inputs.length === 0) throw new UsageError("give a text or --pair A B (see --help)");
  const direction = a["truncation-direction"]?.toLowerCase();
  const options: ClassifyOptions = {
    ...(a["top-k"] !== undefined ? { topK: Number(a["top-k"]) } : {}),
    ...(a.function !== undefined ? { function: a.function as ScoreFunction } : {}),
    ...(a["max-length"] !== undefined ? { maxLength: Number(a["max-length"]) } : {}),
    ...(a["no-truncate"] ? { truncate: false } : {}),
    ...(direction !== undefined
      ? { truncationDirection: direction as ClassifyOptions["truncationDirection"] }
      : {}),
  };
  const classifier = await TextClassifier.load(a.model, {
    ...(a.backend ? { backend: a.backend as Backend } : {}),
    ...(a.threads !== undefined ? { threads: Number(a.threads) } : {}),
  });
  try {
    const ranked = await classifier.classify(inputs, options);
    if (a.json) {
      console.log(JSON.stringify(inputs.map((input, i) => ({ input, labels: ranked[i] }))));
      return 0;
    }
    inputs.forEach((input, i) => {
      const labels = ranked[i].map((l) => `${l.label} ${l.score.toFixed(4)}`).join(", ");
      const text = typeof input === "string" ? input : `${input[0]} | ${input[1]}`;
      console.log(`${labels}\t${text}`);
    });
    return 0;
  } finally {
    await classifier.close();
  }
}

if (import.meta.main) await runCli(main);
