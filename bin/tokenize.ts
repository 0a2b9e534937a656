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
import { defaultModel } from "../src/model/demo_model.ts";
import { parseArgs } from "node:util";
import { type Encoding, Tokenizer } from "../src/tokenizer/tokenizer.ts";
import { EmbedgeError } from "../src/errors.ts";
import { runCli } from "./run_cli.ts";

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
 * The walkthrough's steps of a text as JSON fields: its tokens, then the padded tokens,
 * attention mask, ids and token type ids (shared by the `tokenize` and `embed` CLIs).
 *
 * @example
 * ```ts
 * import { loadTokenizerDir, tokenSteps } from "./tokenize.ts";
 * const tok = await loadTokenizerDir("../shared/models/all-MiniLM-L6-v2");
 * const opts = { padding: "max_length", maxLength: 7, truncation: true } as const;
 * console.log(tokenSteps(tok.encode("I love Paris"), tok.encode("I love Paris", opts)).inputIds);
 * // [101, 1045, 2293, 3000, 102, 0, 0]
 * ```
 */
export function tokenSteps(plain: Encoding, padded: Encoding) {
  return {
    tokens: plain.tokens,
    paddedTokens: padded.tokens,
    attentionMask: Array.from(padded.attentionMask),
    inputIds: Array.from(padded.ids),
    tokenTypeIds: Array.from(padded.typeIds),
  };
}

const HELP = `usage: tokenize [options] [text ...]
  --model DIR       model directory with tokenizer.json or vocab.txt (default ${DEFAULT_MODEL})
  --pad-to N        padding length of the walkthrough's padded row (default 7)
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
  const text = positionals.join(" ") || "I love Paris";
  const tok = await loadTokenizerDir(values.model!);
  const maxLength = Number(values["pad-to"]);
  const cut = values["max-length"] === undefined ? undefined : Number(values["max-length"]);
  const plain = tok.encode(text, cut === undefined ? {} : { maxLength: cut, truncation: true });
  const padded = tok.encode(text, { padding: "max_length", maxLength, truncation: true });
  if (values.json) {
    console.log(JSON.stringify({
      text,
      ...tokenSteps(plain, padded),
      offsets: Array.from({ length: plain.ids.length }, (_, i) => [
        plain.offsets[2 * i],
        plain.offsets[2 * i + 1],
      ]),
    }));
  } else {
    console.log(`text:            ${text}`);
    console.log(`tokens:          ${plain.tokens.join(" ")}`);
    console.log(`${`padded (${maxLength}):`.padEnd(17)}${padded.tokens.join(" ")}`);
    console.log(`attention mask:  ${Array.from(padded.attentionMask).join(" ")}`);
    console.log(`token ids:       ${Array.from(padded.ids).join(" ")}`);
    console.log(`token type ids:  ${Array.from(padded.typeIds).join(" ")}`);
  }
  return 0;
}

if (import.meta.main) await runCli(main);
