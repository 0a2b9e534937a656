/**
 * What the sentence-vector routes (`/embed`, `/v1/embeddings`) share: the layer choice of a
 * request, the `dimensions` cut (Matryoshka-style: the first n values, re-normalized when
 * the vector was) and base64 vectors.
 *
 * @module
 */
import type { LayerMix } from "../../src/model/layers.ts";
import { HttpError } from "../errors.ts";
import { checkOutputSize } from "../admission.ts";

/**
 * `layers` and `layer_mix` as embed options (the last layer when `layers` is absent);
 * `layer_mix` alone is refused: it mixes the states `layers` names, and ignoring it would
 * answer as if it had worked.
 */
export function layerChoice(
  b: { layers: number[] | undefined; layer_mix: LayerMix | undefined },
): { layers?: number[]; layerMix?: LayerMix } {
  if (b.layers) return { layers: b.layers, layerMix: b.layer_mix ?? "mean" };
  if (b.layer_mix !== undefined) {
    throw new HttpError(
      400,
      "layer_mix needs layers (the hidden states to mix)",
      "invalid_request_error",
      "layer_mix",
    );
  }
  return {};
}

/** A `dimensions` field within the vector's width (full when absent). */
export function dimensions(v: number | undefined, full: number): number {
  if (v === undefined) return full;
  if (v > full) {
    throw new HttpError(
      400,
      `dimensions must be an integer in 1..${full}`,
      "invalid_request_error",
      "dimensions",
    );
  }
  return v;
}

/**
 * The width of an answer's vectors (the `dimensions` field, else the full width), with the
 * answer budget checked for `count` of them before the model runs (413 naming `field`).
 */
export function answerWidth(
  requested: number | undefined,
  full: number,
  count: number,
  maxOutputFloats: number,
  field: string,
): number {
  const dims = dimensions(requested, full);
  checkOutputSize(count * dims, maxOutputFloats, `${count} vectors of ${dims} numbers`, field);
  return dims;
}

/** The first `dims` values of a vector, re-normalized when the vector was normalized. */
export function cut(v: Float32Array, dims: number, normalized: boolean): Float32Array {
  const out = v.slice(0, dims);
  return dims < v.length && normalized ? renormalize(out) : out;
}

function renormalize<T extends Float32Array>(v: T): T {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  if (n > 0) { for (let i = 0; i < v.length; i++) v[i] /= n; }
  return v;
}

/** A vector as base64 of its little-endian float32 bytes (OpenAI's `encoding_format`). */
export function base64(v: Float32Array): string {
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}
