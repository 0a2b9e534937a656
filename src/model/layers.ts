/**
 * Choosing encoder layers (bert-as-service's `pooling_layer`): which hidden states a call
 * reads, and how several are combined into one token vector before pooling.
 *
 * Indices follow Hugging Face's `hidden_states`: 0 is the embeddings' output, N the last
 * of N encoder layers; negative indices count from the end, so −1 is the last layer (the
 * default) and −(N+1) the embeddings. Several layers are averaged per token (`mean`, the
 * same width) or concatenated (`concat`, width × layers, in the order given).
 *
 * @example
 * ```ts
 * import { mixLayers, resolveLayers } from "./layers.ts";
 * console.log(resolveLayers([-2, -1], 4)); // [3, 4]
 * // two states of one token, hidden 2
 * const a = Float32Array.of(1, 2), b = Float32Array.of(3, 6);
 * console.log(Array.from(mixLayers([a, b], 2, "mean"))); // [2, 4]
 * console.log(Array.from(mixLayers([a, b], 2, "concat"))); // [1, 2, 3, 6]
 * ```
 * @module
 */
import { InputError } from "../errors.ts";

/** How several layers become one token vector. */
export type LayerMix = "mean" | "concat";

/** The layer mixes, for validation and help texts. */
export const LAYER_MIXES: readonly LayerMix[] = ["mean", "concat"];

/**
 * Absolute state indices (0 … `layers`) of a `layers` option; throws `InputError` naming
 * `layers` for an empty list, a non-integer, an index out of range or a repeated layer.
 */
export function resolveLayers(requested: unknown, layers: number): number[] {
  if (!Array.isArray(requested) || requested.length === 0) {
    throw new InputError("layers must be a non-empty array of layer indices", "layers");
  }
  const out = requested.map((k, i) => {
    if (!(Number.isInteger(k) && k >= -(layers + 1) && k <= layers)) {
      throw new InputError(
        `layers[${i}] must be an integer in ${-(layers +
          1)}..${layers} (this model has ${layers} layers; -1 is the last, 0 the embeddings)`,
        `layers[${i}]`,
      );
    }
    return k < 0 ? layers + 1 + k : k;
  });
  if (new Set(out).size !== out.length) {
    throw new InputError("layers must not name a layer twice", "layers");
  }
  return out;
}

/**
 * One tensor of token vectors from several `[tokens, h]` states: their mean (`[tokens, h]`)
 * or their concatenation per token (`[tokens, h × states]`).
 */
export function mixLayers(states: Float32Array[], h: number, mix: LayerMix): Float32Array {
  if (states.length === 1) return states[0];
  const tokens = states[0].length / h, n = states.length;
  if (mix === "mean") {
    const out = new Float32Array(tokens * h);
    for (let i = 0; i < out.length; i++) {
      let s = 0;
      for (const state of states) s += state[i];
      out[i] = s / n;
    }
    return out;
  }
  const out = new Float32Array(tokens * h * n);
  for (let t = 0; t < tokens; t++) {
    states.forEach((state, l) => out.set(state.subarray(t * h, (t + 1) * h), (t * n + l) * h));
  }
  return out;
}
