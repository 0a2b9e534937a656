/**
 * What an Embedder's calls answer: sentence vectors (`embed`), token vectors
 * (`embedTokens`) and word vectors (`embedWords`). Types only; embedder.ts re-exports them.
 * @module
 */
import type { Pooling } from "./pooling.ts";

/** Sentence embeddings: `data` is `[dims[0], dims[1]]` row-major, in input order. */
export interface Embeddings {
  data: Float32Array;
  dims: [number, number];
  pooling: Pooling;
  normalized: boolean;
  /** Tokens fed to the model per input (special tokens included, padding excluded). */
  tokenCounts: Int32Array;
}

/** Token embeddings of one input (padding removed; special tokens kept and flagged). */
export interface TokenEmbeddings {
  tokens: string[];
  ids: Int32Array;
  offsets: Uint32Array;
  specialTokensMask: Uint8Array;
  /** `[tokens, hidden]` */
  vectors: Float32Array;
  hiddenSize: number;
}

/** Word embeddings of one input: subword vectors aggregated per word. */
export interface WordEmbeddings {
  words: string[];
  /** `[start, end)` UTF-16 offsets of each word. */
  offsets: Uint32Array;
  /** `[words, hidden]` */
  vectors: Float32Array;
  hiddenSize: number;
}
