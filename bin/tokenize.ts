/**
 * The walkthrough on the command line: tokens, padded tokens, attention mask and ids of a
 * text, as BERT sees them.
 *
 * @example
 * ```sh
 * deno run --allow-read --allow-env bin/tokenize.ts "I love Paris" --pad-to 7
 * deno run --allow-read --allow-env bin/tokenize.ts --model ../shared/models/all-MiniLM-L6-v2 --json "Hi"
 * ```
 * @module
 */
import { defaultModel } from "../src/model/fixtures/demo_model.ts";
import { parseArgs } from "node:util";
import { type Encoding, Tokenizer } from "../src/tokenizer/tokenizer.ts";
import { EmbedgeError } from "../src/errors.ts";
import { runCli, UsageError } from "./run_cli.ts";

const DEFAULT_MODEL = defaultModel();

/** Loads a tokenizer from a model directory (tokenizer.json, else vocab.txt). */
export async function loadTokenizerDir(dir: string): Promise<Tokenizer> {
  const read = (f: string) => {
    try {
      return Deno.readTextFileSync(`${dir}/${f}`);
    } catch {
      return undefined;
    }
  };
  const json = read("tokenizer.json");
  if (json) return await Tokenizer.fromTokenizerJson(json, read("tokenizer_config.json"));
  const vocab = read("vocab.txt");
  if (vocab) return await Tokenizer.fromVocab(vocab);
  throw new EmbedgeError(`no tokenizer.json or vocab.txt in ${dir}`, "model_load", "model");
}

/**
 * The walkthrough's steps of a text as JSON fields: its tokens (as the model runs them,
 * `--max-length` applied), then those same tokens padded with `[PAD]` to `padTo` (never
 * cut shorter: a text longer than `padTo` is shown whole; never padded past `maxLength`), with the attention mask, ids and
 * token type ids (shared by the `tokenize` and `embed` CLIs).
 *
 * @example
 * ```ts
 * import { loadTokenizerDir, tokenSteps } from "./tokenize.ts";
 * const tok = await loadTokenizerDir("../shared/models/all-MiniLM-L6-v2");
 * console.log(tokenSteps(tok, tok.encode("I love Paris"), 7).inputIds);
 * // [101, 1045, 2293, 3000, 102, 0, 0]
 * ```
 */
export function tokenSteps(tok: Tokenizer, plain: Encoding, padTo: number, maxLength?: number) {
  // padded to --pad-to, but never past --max-length: the tensors are at most what the model
  // is given (`padding: "max_length"` with `max_length` pads to exactly that, as in HF)
  const length = Math.min(Math.max(padTo, plain.ids.length), maxLength ?? Infinity);
  const extra = Math.max(0, length - plain.ids.length);
  // the padding as the tokenizer writes it: an empty text is [CLS] [SEP], then the pads
  const pads = tok.encode("", { padding: "max_length", maxLength: 2 + extra });
  const tail = <T>(values: ArrayLike<T>) => Array.from(values).slice(2, 2 + extra);
  return {
    tokens: plain.tokens,
    paddedTokens: [...plain.tokens, ...pads.tokens.slice(2, 2 + extra)],
    attentionMask: [...Array.from(plain.attentionMask), ...tail(pads.attentionMask)],
    inputIds: [...Array.from(plain.ids), ...tail(pads.ids)],
    tokenTypeIds: [...Array.from(plain.typeIds), ...tail(pads.typeIds)],
  };
}

/** A whole number ≥ `min` from a flag's value, or a UsageError naming the flag. */
export function wholeNumber(flag: string, value: string, min: number): number {
  const n = /^\d{1,9}$/.test(value.trim()) ? Number(value) : NaN;
  if (!(n >= min)) {
    throw new UsageError(`--${flag} must be a whole number ≥ ${min}, not ${JSON.stringify(value)}`);
  }
  return n;
}

const HELP = `usage: tokenize [options] [text ...]   (each text is one input)
  --model DIR       model directory with tokenizer.json or vocab.txt (default ${DEFAULT_MODEL})
  --pad-to N        pad the walkthrough's row to N tokens (default 7; a longer text is shown whole)
  --max-length N    truncate the tokens to N (special tokens included)
  --json            machine output (one JSON object)
  -h, --help        this text`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string", default: DEFAULT_MODEL },
      "pad-to": { type: "string", default: "7" },
      "max-length": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  // every positional text is its own input, as `embed a b` embeds two
  const texts = positionals.length ? positionals : ["I love Paris"];
  const tok = await loadTokenizerDir(values.model!);
  const padTo = wholeNumber("pad-to", values["pad-to"]!, 0);
  const cut = values["max-length"] === undefined
    ? undefined
    : wholeNumber("max-length", values["max-length"], 2);
  const steps = texts.map((text) => {
    const plain = tok.encode(text, cut === undefined ? {} : { maxLength: cut, truncation: true });
    return {
      text,
      ...tokenSteps(tok, plain, padTo, cut),
      offsets: Array.from({ length: plain.ids.length }, (_, i) => [
        plain.offsets[2 * i],
        plain.offsets[2 * i + 1],
      ]),
    };
  });
  if (values.json) {
    console.log(JSON.stringify(steps.length === 1 ? steps[0] : { inputs: steps }));
    return 0;
  }
  steps.forEach((s, i) => {
    if (i > 0) console.log("");
    console.log(`text:            ${s.text}`);
    console.log(`tokens:          ${s.tokens.join(" ")}`);
    console.log(`${`padded (${s.inputIds.length}):`.padEnd(17)}${s.paddedTokens.join(" ")}`);
    console.log(`attention mask:  ${s.attentionMask.join(" ")}`);
    console.log(`token ids:       ${s.inputIds.join(" ")}`);
    console.log(`token type ids:  ${s.tokenTypeIds.join(" ")}`);
  });
  return 0;
}

if (import.meta.main) await runCli(main);
