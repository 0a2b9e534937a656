/**
 * The tokenizers bench/tokenizer.ts times, embedge first: each with its fastest load and
 * its encoders (one call per text; a batch call where the peer offers one), returning token
 * counts. kitoken is optional (a WASM package that may fail to load: the error is kept for
 * the report) and is compared on bare ids.
 *
 * @example
 * ```ts ignore
 * import { tokenizerPeers } from "./tokenizer_peers.ts";
 * const { impls, kitokenError } = await tokenizerPeers({ tokenizerJson, tokenizerConfig, oracle, embedge, precompiled, wasmModule, batchSize: 64 });
 * ```
 * @module
 */
import { Tokenizer as HfNative } from "tokenizers";
import { Tokenizer as HfJs } from "@huggingface/tokenizers";
import { PreTrainedTokenizer } from "@huggingface/transformers";
import { Tokenizer } from "../src/tokenizer/tokenizer.ts";

const utf8 = new TextEncoder();

/** One implementation: how it loads, and its encoders returning token counts. */
export interface Impl {
  name: string;
  kind: string;
  /** Its fastest load, and what it loads from. */
  load: () => Promise<unknown> | unknown;
  loadFrom: string;
  /** ids of one text, for the parity check (kitoken: bare ids). */
  ids: (t: string) => Promise<ArrayLike<number>> | ArrayLike<number>;
  bareIds?: boolean;
  /** One call per text; returns tokens. Async encoders return promises. */
  single: (ts: string[]) => Promise<number> | number;
  /** Batch calls of BATCH texts; returns tokens. */
  batch?: (ts: string[]) => Promise<number> | number;
}

/** The implementations, in table order, and why kitoken is missing when it is. */
export async function tokenizerPeers({
  tokenizerJson,
  tokenizerConfig,
  oracle,
  embedge,
  precompiled,
  wasmModule,
  batchSize: BATCH,
}: {
  tokenizerJson: string;
  tokenizerConfig: Record<string, unknown>;
  /** Hugging Face tokenizers (native) without padding and truncation. */
  oracle: HfNative;
  embedge: Tokenizer;
  /** embedge's precompiled form, and its compiled wasm module. */
  precompiled: Uint8Array;
  wasmModule: WebAssembly.Module;
  /** Texts per batch call. */
  batchSize: number;
}): Promise<{ impls: Impl[]; kitokenError: string }> {
  // kitoken applies the tokenizer.json's fixed padding (128) and truncation: removed here
  const bare = JSON.parse(tokenizerJson);
  bare.padding = null;
  bare.truncation = null;
  // what a user would read from disk: encoded once, outside the timed load
  const bareBytes = utf8.encode(JSON.stringify(bare));
  // deno-lint-ignore no-explicit-any
  let Kitoken: any = null, kitokenError = "";
  try {
    ({ Kitoken } = await import("kitoken/node"));
  } catch (e) {
    kitokenError = String(e);
  }

  const hfJs = new HfJs(JSON.parse(tokenizerJson), tokenizerConfig);
  const tfjs = new PreTrainedTokenizer(JSON.parse(tokenizerJson), tokenizerConfig);
  const kitoken = Kitoken ? Kitoken.from_tokenizers(utf8.encode(JSON.stringify(bare))) : null;
  const inBatches = async (ts: string[], f: (chunk: string[]) => Promise<number> | number) => {
    let n = 0;
    for (let i = 0; i < ts.length; i += BATCH) n += await f(ts.slice(i, i + BATCH));
    return n;
  };
  const impls: Impl[] = [
    {
      name: "embedge",
      kind: "WebAssembly (AssemblyScript), LinMaxMatch",
      load: () => Tokenizer.fromBytesSync(precompiled, wasmModule),
      loadFrom: "precompiled form (compiled wasm module)",
      ids: (t) => embedge.encode(t).ids,
      single: (ts) => {
        let n = 0;
        for (const t of ts) n += embedge.encode(t).ids.length;
        return n;
      },
      // the batch's model tensors are read, as a model run would (none of them is made
      // lazily today; reading them keeps the benchmark honest if one ever is)
      batch: (ts) =>
        inBatches(ts, (c) => {
          const b = embedge.encodeBatch(c);
          let n = 0;
          for (const l of b.lengths) n += l;
          return b.inputIds.length + b.attentionMask.length > 0 ? n : 0;
        }),
    },
    {
      name: "tokenizers (HF, native)",
      kind: "Rust via N-API (async, 2 threads in batch)",
      load: () => HfNative.fromString(tokenizerJson),
      loadFrom: "tokenizer.json string",
      ids: async (t) => (await oracle.encode(t)).getIds(),
      single: async (ts) => {
        let n = 0;
        for (const t of ts) n += (await oracle.encode(t)).getIds().length;
        return n;
      },
      batch: (ts) =>
        inBatches(ts, async (c) => {
          let n = 0;
          for (const e of await oracle.encodeBatch(c)) n += e.getIds().length;
          return n;
        }),
    },
    {
      name: "@huggingface/tokenizers",
      kind: "pure JavaScript",
      load: () => new HfJs(JSON.parse(tokenizerJson), tokenizerConfig),
      loadFrom: "tokenizer.json (parsed)",
      ids: (t) => hfJs.encode(t).ids,
      single: (ts) => {
        let n = 0;
        for (const t of ts) n += hfJs.encode(t).ids.length;
        return n;
      },
    },
    {
      name: "transformers.js",
      kind: "pure JavaScript (PreTrainedTokenizer)",
      load: () => new PreTrainedTokenizer(JSON.parse(tokenizerJson), tokenizerConfig),
      loadFrom: "tokenizer.json (parsed)",
      ids: (t) => tfjs.encode(t),
      single: (ts) => {
        let n = 0;
        for (const t of ts) n += tfjs.encode(t).length;
        return n;
      },
    },
  ];
  if (kitoken) {
    impls.push({
      name: "kitoken",
      kind: "WebAssembly (Rust)",
      load: () => Kitoken.from_tokenizers(bareBytes),
      loadFrom: "tokenizer.json bytes",
      ids: (t) => kitoken.encode(t, true),
      bareIds: true,
      single: (ts) => {
        let n = 0;
        for (const t of ts) n += kitoken.encode(t, true).length;
        return n;
      },
      batch: (ts) =>
        inBatches(ts, (c) => {
          let n = 0;
          for (const ids of kitoken.encode_all(c, true)) n += ids.length;
          return n;
        }),
    });
  }
  return { impls, kitokenError };
}
