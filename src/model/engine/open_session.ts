/**
 * What both kinds of session (session.ts: an encoder's hidden states; logits_session.ts: a
 * head's logits) open their model with: embedge's kernels when they recognise the graph on
 * the WASM backend, else onnxruntime; the int64 feeds of a run; and the inputs check.
 *
 * @example
 * ```ts
 * import { layerStatesOf } from "./open_session.ts";
 * const bytes = await Deno.readFile("../shared/models/embedge-mini-mlm/onnx/model.onnx");
 * console.log(layerStatesOf(bytes).length); // 4: the outputs of the embeddings and of layers 1-3
 * ```
 * @module
 */
import { ModelLoadError } from "../../errors.ts";
import type { Backend, Runtime } from "./runtimes.ts";
import type { OrtSession } from "../onnx/ort_session.ts";
import { withCompiledOrtWasm } from "./ort_wasm.ts";
import { encoderLayerStates } from "../onnx/layers.ts";
import { bertGraphWeights } from "../kernels/bert_graph.ts";
import { kernelSessionOrReason, kernelsUnavailable } from "../kernels/kernel_session.ts";

/** What runs the model: onnxruntime's native or web build, or embedge's WASM kernels. */
export type Engine = "onnxruntime-node" | "onnxruntime-web" | "embedge-kernels";
const KNOWN_INPUTS = new Set(["input_ids", "attention_mask", "token_type_ids"]);

/** Options of `createSession`. */
export interface SessionOptions {
  /** External data files of the graph (name as referenced by the model → bytes). */
  externalData?: { path: string; data: Uint8Array }[];
  /** ORT's `ort-wasm-simd-threaded.wasm`, precompiled (Workers: the imported module). */
  wasm?: WebAssembly.Module;
  /** embedge's `bert_kernels.wasm`, precompiled (Workers: the imported module). */
  kernelsWasm?: WebAssembly.Module;
  /**
   * Encoder layers the config declares (`num_hidden_layers`): per-layer states are exposed
   * only when the graph shows exactly that many layer boundaries (onnx/layers.ts).
   */
  layers?: number;
  /** `auto` (default: native where it loads), `native` or `wasm`; a precompiled `wasm`
   * module means `wasm`. */
  backend?: Backend;
  /** Intra-op threads (native) or WASM threads (0 or absent: native's default, WASM 1). */
  threads?: number;
  /** `num_attention_heads` from config.json: the WASM kernels need it. */
  heads?: number;
  /** `layer_norm_eps` from config.json (LayerNorms written out as `ReduceMean`…). */
  layerNormEps?: number;
  /**
   * Whether the WASM backend may run a recognised BERT graph on embedge's kernels (default
   * true; false: always onnxruntime-web). One thread only: more threads use onnxruntime-web.
   */
  kernels?: boolean;
}

/**
 * The kernels' session for this graph, or why not: they run on the WASM backend with one
 * thread, for a BERT graph bert_graph.ts recognises, where relaxed SIMD validates.
 */
export async function kernelSession(
  bytes: Uint8Array,
  options: SessionOptions,
  threads: number,
  states: string[],
): Promise<OrtSession | string> {
  if (options.kernels === false) return "kernels turned off";
  // a precompiled ORT module means a runtime that cannot compile bytes: the kernels need
  // theirs precompiled too
  if (options.wasm && !options.kernelsWasm) {
    return "onnxruntime's module was given precompiled but the kernels' was not";
  }
  if (threads > 1) return `${threads} threads asked for (the kernels run on one)`;
  if (!options.heads) return "config.json gives no num_attention_heads";
  const unavailable = await kernelsUnavailable(options.kernelsWasm);
  if (unavailable) return unavailable;
  const external = new Map((options.externalData ?? []).map((e) => [e.path, e.data]));
  const weights = bertGraphWeights(bytes, {
    heads: options.heads,
    states,
    ...(options.layerNormEps ? { epsilon: options.layerNormEps } : {}),
    readExternal: (location) => {
      const data = external.get(location);
      if (!data) throw new Error(`external data ${location} was not given`);
      return data;
    },
  });
  if (typeof weights === "string") return weights;
  return await kernelSessionOrReason(weights, options.kernelsWasm);
}

/** The graph's encoder layer boundaries (onnx/layers.ts), or none when it cannot be read. */
export function layerStatesOf(bytes: Uint8Array): string[] {
  try {
    return encoderLayerStates(bytes);
  } catch {
    return []; // the protobuf walk's complaint is onnxruntime's to make when it loads
  }
}

/** onnxruntime's session for the bytes (load failures become ModelLoadErrors). */
export async function ortSession(
  bytes: Uint8Array,
  runtime: Runtime,
  options: SessionOptions,
  threads: number,
  kernelsRefusal?: string,
): Promise<OrtSession> {
  try {
    const create = () =>
      runtime.create(bytes, {
        threads,
        ...(options.externalData ? { externalData: options.externalData } : {}),
      });
    return options.wasm ? await withCompiledOrtWasm(options.wasm, create) : await create();
  } catch (cause) {
    // where onnxruntime-web is left out (the default Worker build), why the kernels refused
    // is the part of the answer one can act on, so it comes first
    const refused = kernelsRefusal
      ? `the WASM kernels refused the model (${kernelsRefusal}) and `
      : "";
    throw new ModelLoadError(
      `${refused}onnxruntime cannot load the model: ${String(cause).slice(0, 300)}`,
      "onnx",
      { cause },
    );
  }
}

/**
 * The feeds of a session's runs: `[batch, seq]` int64 tensors for the inputs its graph has
 * (`input_ids`, and `attention_mask` / `token_type_ids` where present). The kernels read
 * `data` and `dims` only, so their feeds need no onnxruntime (which a Worker build may leave
 * out); onnxruntime's own sessions take its Tensor class.
 */
export function feedsOf(
  runtime: Runtime,
  engine: Engine,
  inputNames: readonly string[],
): (
  ids: BigInt64Array,
  mask: BigInt64Array,
  types: BigInt64Array,
  batch: number,
  seq: number,
) => Record<string, unknown> {
  const int64: Runtime["int64"] = engine === "embedge-kernels"
    ? (data, dims) => ({ type: "int64", data, dims })
    : runtime.int64;
  const hasAttentionMask = inputNames.includes("attention_mask");
  const hasTokenTypes = inputNames.includes("token_type_ids");
  return (ids, mask, types, batch, seq) => {
    const dims = [batch, seq];
    const feeds: Record<string, unknown> = { input_ids: int64(ids, dims) };
    if (hasAttentionMask) feeds.attention_mask = int64(mask, dims);
    if (hasTokenTypes) feeds.token_type_ids = int64(types, dims);
    return feeds;
  };
}

/** Refuses (and releases) a session whose inputs embedge cannot feed. */
export async function checkInputs(session: OrtSession): Promise<void> {
  const inputNames = session.inputNames;
  if (!inputNames.includes("input_ids")) {
    await session.release();
    throw new ModelLoadError(
      `the model has no input_ids input (inputs: ${inputNames.join(", ")})`,
      "onnx",
    );
  }
  const unknown = inputNames.filter((n) => !KNOWN_INPUTS.has(n));
  if (unknown.length) {
    await session.release();
    throw new ModelLoadError(
      `the model needs inputs embedge does not provide: ${unknown.join(", ")}`,
      "onnx",
    );
  }
}
