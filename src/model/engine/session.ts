/**
 * The BERT session, on onnxruntime-node (native) or onnxruntime-web (WASM), see
 * runtimes.ts: loads ONNX bytes, exposes every encoder layer's hidden state, finds the
 * inputs (`input_ids`, `attention_mask`, optional `token_type_ids`) and outputs
 * (`last_hidden_state`, a pooler output if exported) and runs batches of int64 tensors.
 * A sequence-classification graph (a `logits` output and no hidden-state output) is
 * refused here with a ModelLoadError pointing to `TextClassifier`; `createLogitsSession`
 * (logits_session.ts) loads it instead and runs it for its `[batch, labels]` logits, or,
 * with `rank: 3`, a masked LM's `[batch, tokens, vocab]` (what `SparseEncoder` reads). What
 * both open their model with is open_session.ts.
 *
 * @example
 * ```ts
 * import { createSession } from "./session.ts";
 * const session = await createSession(
 *   await Deno.readFile("../shared/models/embedge-mini-mlm/onnx/model.onnx"),
 *   { layers: 4 },
 * );
 * console.log(session.backend, session.hiddenOutput, session.stateOutputs.length); // native last_hidden_state 5
 * ```
 * @module
 */
import { ModelLoadError } from "../../errors.ts";
import { loadRuntime, type Runtime } from "./runtimes.ts";
import type { OrtSession } from "../onnx/ort_session.ts";
import { withOutputs } from "../onnx/layers.ts";
import { HIDDEN_NAMES, POOLER_NAMES } from "../kernels/bert_graph.ts";
import {
  checkInputs,
  type Engine,
  feedsOf,
  layerStatesOf,
  ortSession,
  type SessionOptions,
} from "./open_session.ts";
import { chooseEngine } from "./choose_engine.ts";
import { isClassifierGraph, LOGITS_OUTPUT } from "./logits_session.ts";

export type { Engine, SessionOptions };

/** One run's outputs. */
export interface SessionOutput {
  /** `[batch, seq, hiddenSize]` */
  hidden: Float32Array;
  hiddenSize: number;
  /** `[batch, hiddenSize]`, when the model exports a pooler. */
  pooler?: Float32Array;
  /** `[batch, seq, hiddenSize]` per requested hidden state, in the order asked for. */
  states?: Float32Array[];
}

/** A loaded model. */
export interface ModelSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  hasTokenTypes: boolean;
  hasAttentionMask: boolean;
  hiddenOutput: string;
  poolerOutput?: string;
  /** The backend running the model. */
  backend: "native" | "wasm";
  /**
   * What runs it: `native` is onnxruntime-node; `wasm` is embedge's kernels for a BERT graph
   * they recognise on one thread, else onnxruntime-web (`engineNote` says why).
   */
  engine: Engine;
  /**
   * Why the WASM backend did not use the kernels, or that it uses their plain-SIMD build
   * (absent when the relaxed build runs, and on native); on Node, led by why `auto` runs
   * without onnxruntime-node.
   */
  engineNote?: string;
  /** Threads it was asked to use (0: the build's default). */
  threads: number;
  /**
   * The output of each hidden state, 0 = the embeddings' output … N = the last layer
   * (`hiddenOutput`); empty when the graph's layer boundaries were not found.
   */
  stateOutputs: readonly string[];
  /** Runs it can take at once (a session pool's workers; absent: one). */
  capacity?: number;
  /**
   * Runs `[batch, seq]` tensors (int64 row-major). `states` asks for hidden states by
   * index into `stateOutputs`; they come back in `SessionOutput.states`.
   */
  run(
    ids: BigInt64Array,
    mask: BigInt64Array,
    types: BigInt64Array,
    batch: number,
    seq: number,
    states?: readonly number[],
  ): Promise<SessionOutput>;
  release(): Promise<void>;
}

/** Creates a session from ONNX bytes; errors name what is wrong with the model. */
export async function createSession(
  bytes: Uint8Array,
  options: SessionOptions = {},
): Promise<ModelSession> {
  const runtime = await loadRuntime(options.wasm ? "wasm" : options.backend ?? "auto");
  const threads = options.threads ?? 0;
  // Expose every layer's hidden state as an extra output. Unfetched outputs cost nothing
  // measurable (mini BERT, 16 × 48 tokens: 208.4 vs 208.6 ms median) and vectors are
  // bit-identical, so this is done at every load rather than in a second session.
  const states = layerStatesOf(bytes);
  const layered = states.length > 0 &&
    (options.layers === undefined || states.length === options.layers);
  let { session, engine, engineNote } = await chooseEngine(
    bytes,
    options,
    runtime,
    threads,
    states,
  );
  if (layered && !session) bytes = withOutputs(bytes, states);
  if (!session) session = await ortSession(bytes, runtime, options, threads, engineNote);
  return modelSession(session, runtime, { engine, engineNote, threads, layered, states });
}

/** The ModelSession over a loaded session: input and output roles, int64 feeds. */
async function modelSession(
  session: OrtSession,
  runtime: Runtime,
  facts: {
    engine: Engine;
    engineNote?: string;
    threads: number;
    layered: boolean;
    states: string[];
  },
): Promise<ModelSession> {
  const { engine, engineNote, threads, layered, states } = facts;
  const inputNames = session.inputNames;
  const outputNames = session.outputNames;
  await checkInputs(session);
  if (isClassifierGraph(outputNames)) {
    await session.release();
    throw new ModelLoadError(
      `this is a sequence-classification model (its graph outputs ${LOGITS_OUTPUT}, no hidden states); load it with TextClassifier (or SparseEncoder if it is a masked LM)`,
      "onnx",
    );
  }
  const hiddenOutput = HIDDEN_NAMES.find((n) => outputNames.includes(n)) ?? outputNames[0];
  const poolerOutput = POOLER_NAMES.find((n) => outputNames.includes(n) && n !== hiddenOutput);
  const hasTokenTypes = inputNames.includes("token_type_ids");
  const hasAttentionMask = inputNames.includes("attention_mask");
  const stateOutputs = layered ? [...states, hiddenOutput] : [];
  const feeds = feedsOf(runtime, engine, inputNames);
  return {
    inputNames,
    outputNames,
    hasTokenTypes,
    hasAttentionMask,
    hiddenOutput,
    poolerOutput,
    backend: runtime.name,
    engine,
    ...(engineNote ? { engineNote } : {}),
    threads,
    stateOutputs,
    async run(ids, mask, types, batch, seq, states) {
      const fetches = poolerOutput ? [hiddenOutput, poolerOutput] : [hiddenOutput];
      const stateNames = (states ?? []).map((k) => stateOutputs[k]);
      for (const name of stateNames) if (!fetches.includes(name)) fetches.push(name);
      const out = await session.run(feeds(ids, mask, types, batch, seq), fetches);
      const h = out[hiddenOutput];
      if (h.dims.length !== 3 || h.type !== "float32") {
        throw new ModelLoadError(
          `output ${hiddenOutput} is ${h.type} ${
            JSON.stringify(h.dims)
          }, expected float32 [batch, seq, hidden]`,
          "onnx",
        );
      }
      return {
        hidden: h.data as Float32Array,
        hiddenSize: h.dims[2],
        pooler: poolerOutput ? out[poolerOutput].data as Float32Array : undefined,
        ...(states ? { states: stateNames.map((n) => out[n].data as Float32Array) } : {}),
      };
    },
    release: () => session.release(),
  };
}
