/**
 * The BERT session, on onnxruntime-node (native) or onnxruntime-web (WASM), see
 * runtimes.ts: loads ONNX bytes, exposes every encoder layer's hidden state, finds the
 * inputs (`input_ids`, `attention_mask`, optional `token_type_ids`) and outputs
 * (`last_hidden_state`, a pooler output if exported) and runs batches of int64 tensors.
 * A sequence-classification graph (a `logits` output and no hidden-state output) is
 * refused here with a ModelLoadError pointing to `TextClassifier`; `createLogitsSession`
 * loads it instead and runs it for its `[batch, labels]` logits, or, with `rank: 3`, a
 * masked LM's `[batch, tokens, vocab]` (what `SparseEncoder` reads).
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
import {
  type Backend,
  loadRuntime,
  nativeProblem,
  type OrtSession,
  type Runtime,
} from "./runtimes.ts";
import { withCompiledOrtWasm } from "./ort_wasm.ts";
import { encoderLayerStates, withOutputs } from "../onnx/layers.ts";
import { bertGraphWeights, HIDDEN_NAMES, POOLER_NAMES } from "../kernels/bert_graph.ts";
import {
  kernelSessionOrReason,
  kernelsUnavailable,
  plainKernelsReason,
} from "../kernels/kernel_session.ts";

/** What runs the model: onnxruntime's native or web build, or embedge's WASM kernels. */
export type Engine = "onnxruntime-node" | "onnxruntime-web" | "embedge-kernels";
const KNOWN_INPUTS = new Set(["input_ids", "attention_mask", "token_type_ids"]);

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
async function kernelSession(
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
function layerStatesOf(bytes: Uint8Array): string[] {
  try {
    return encoderLayerStates(bytes);
  } catch {
    return []; // the protobuf walk's complaint is onnxruntime's to make when it loads
  }
}

/** Node's major version, or undefined on other runtimes (Deno has `process` too). */
function nodeMajor(): number | undefined {
  if ("Deno" in globalThis) return undefined;
  const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions
    ?.node;
  return node ? Number(node.split(".")[0]) : undefined;
}

/**
 * Why the kernels run their plain-SIMD build (the relaxed build did not compile). Node 20's
 * V8 (11.3) has relaxed SIMD behind a flag only (Node 22's V8 ships it), so there the fix is
 * the flag, and the note names it.
 */
function plainBuildNote(reason: string): string {
  const node = nodeMajor();
  const why = node !== undefined && node < 22
    ? `Node ${node} validates relaxed SIMD only with --experimental-wasm-relaxed-simd`
    : reason;
  return `the kernels' plain-SIMD build runs (multiply, then add): ${why}`;
}

// Notes already printed: a process that loads many models says each thing once
const warned = new Set<string>();

/**
 * On Node, the one line saying which engine runs and why, when `auto` fell back from
 * onnxruntime-node: there the fallback is easy to miss (npm drops the optional package
 * silently) and costs 3-5× in speed. Undefined elsewhere and when native runs.
 */
async function nodeFallbackNote(engine: Engine, kernelsNote?: string): Promise<string | undefined> {
  if (nodeMajor() === undefined) return undefined;
  const native = await nativeProblem();
  if (!native) return undefined;
  if (!kernelsNote) return `${native}; running ${engine}`;
  return engine === "embedge-kernels"
    ? `${native}; running ${engine} (${kernelsNote})`
    : `${native}; running ${engine} (not embedge's kernels: ${kernelsNote})`;
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
  let session: OrtSession | undefined;
  let engine: Engine = runtime.name === "native" ? "onnxruntime-node" : "onnxruntime-web";
  let engineNote: string | undefined;
  if (runtime.name === "wasm") {
    const kernels = await kernelSession(bytes, options, threads, states);
    if (typeof kernels === "string") engineNote = kernels;
    else {
      [session, engine] = [kernels, "embedge-kernels"];
      const plain = await plainKernelsReason(options.kernelsWasm);
      if (plain) engineNote = plainBuildNote(plain);
    }
  }
  if (runtime.name === "wasm" && !options.wasm && (options.backend ?? "auto") === "auto") {
    const note = await nodeFallbackNote(engine, engineNote);
    if (note) {
      engineNote = note;
      if (!warned.has(note)) {
        warned.add(note);
        console.warn(`embedge: ${note}`);
      }
    }
  }
  if (layered && !session) bytes = withOutputs(bytes, states);
  if (!session) session = await ortSession(bytes, runtime, options, threads, engineNote);
  return modelSession(session, runtime, { engine, engineNote, threads, layered, states });
}

/** onnxruntime's session for the bytes (load failures become ModelLoadErrors). */
async function ortSession(
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
function feedsOf(
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
async function checkInputs(session: OrtSession): Promise<void> {
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

/** The output a sequence-classification export (Hugging Face `…ForSequenceClassification`) names. */
export const LOGITS_OUTPUT = "logits";

/**
 * Whether a graph's outputs are a classifier's: `logits` and none of the hidden-state
 * names (a model exporting both is an encoder that also has a head, and embeds).
 */
export function isClassifierGraph(outputNames: readonly string[]): boolean {
  return outputNames.includes(LOGITS_OUTPUT) && !HIDDEN_NAMES.some((n) => outputNames.includes(n));
}

/** A loaded sequence-classification model. */
export interface LogitsSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  hasTokenTypes: boolean;
  hasAttentionMask: boolean;
  backend: "native" | "wasm";
  engine: Engine;
  /** Why the WASM backend did not use the kernels (absent on native). */
  engineNote?: string;
  threads: number;
  /** The logits' rank: 2 (`[batch, labels]`) or 3 (a masked LM's `[batch, seq, vocab]`). */
  rank: 2 | 3;
  /**
   * Runs `[batch, seq]` int64 tensors; gives the logits row-major, `labels` their last
   * dimension (a masked LM's vocabulary).
   */
  run(
    ids: BigInt64Array,
    mask: BigInt64Array,
    types: BigInt64Array,
    batch: number,
    seq: number,
  ): Promise<{ logits: Float32Array; labels: number }>;
  release(): Promise<void>;
}

/**
 * Creates a session for a sequence-classification graph (output `logits` `[batch, labels]`);
 * a graph without that output is a ModelLoadError. No per-layer outputs are added: a
 * classifier is read at its head only. On the WASM backend the kernels are asked first (they
 * recognise encoders, and refuse a graph ending in a head: `engineNote` says why), then
 * onnxruntime-web runs it.
 */
export async function createLogitsSession(
  bytes: Uint8Array,
  options: SessionOptions & {
    /** The logits' rank the model must output (default 2; 3: a masked LM). */
    rank?: 2 | 3;
  } = {},
): Promise<LogitsSession> {
  const rank = options.rank ?? 2;
  const runtime = await loadRuntime(options.wasm ? "wasm" : options.backend ?? "auto");
  const threads = options.threads ?? 0;
  let session: OrtSession | undefined;
  let engine: Engine = runtime.name === "native" ? "onnxruntime-node" : "onnxruntime-web";
  let engineNote: string | undefined;
  if (runtime.name === "wasm") {
    // the encoder's layer boundaries let the graph reader get as far as the head, so the
    // note names the head rather than a missing encoder
    const kernels = await kernelSession(bytes, options, threads, layerStatesOf(bytes));
    if (typeof kernels === "string") engineNote = `the kernels refused the graph: ${kernels}`;
    else if (!kernels.outputNames.includes(LOGITS_OUTPUT)) {
      // an encoder they recognise inside the classifier, without its head: not usable here
      await kernels.release();
      engineNote = "the kernels run the encoder only, not the classification head";
    } else [session, engine] = [kernels, "embedge-kernels"];
  }
  session ??= await ortSession(bytes, runtime, options, threads, engineNote);
  await checkInputs(session);
  const { inputNames, outputNames } = session;
  if (!outputNames.includes(LOGITS_OUTPUT)) {
    await session.release();
    throw new ModelLoadError(
      `the model has no ${LOGITS_OUTPUT} output (outputs: ${
        outputNames.join(", ")
      }): not a sequence-classification model; load it with Embedder`,
      "onnx",
    );
  }
  const hasTokenTypes = inputNames.includes("token_type_ids");
  const hasAttentionMask = inputNames.includes("attention_mask");
  const loaded = session;
  const feeds = feedsOf(runtime, engine, inputNames);
  return {
    inputNames,
    outputNames,
    hasTokenTypes,
    hasAttentionMask,
    backend: runtime.name,
    engine,
    ...(engineNote ? { engineNote } : {}),
    threads,
    rank,
    async run(ids, mask, types, batch, seq) {
      const out = (await loaded.run(feeds(ids, mask, types, batch, seq), [LOGITS_OUTPUT]))[
        LOGITS_OUTPUT
      ];
      const shape = rank === 2 ? "[batch, labels]" : "[batch, sequence, vocab]";
      // the other head kind is another class's to load: say which
      const other = out.dims.length === 3 && rank === 2
        ? ": a masked-LM head (load it with SparseEncoder)"
        : out.dims.length === 2 && rank === 3
        ? ": a sequence-classification head (load it with TextClassifier)"
        : "";
      if (
        out.dims.length !== rank || out.dims[0] !== batch || (rank === 3 && out.dims[1] !== seq) ||
        out.type !== "float32"
      ) {
        throw new ModelLoadError(
          `output ${LOGITS_OUTPUT} is ${out.type} ${
            JSON.stringify(out.dims)
          }, expected float32 ${shape}${other}`,
          "onnx",
        );
      }
      return { logits: out.data as Float32Array, labels: out.dims[rank - 1] };
    },
    release: () => loaded.release(),
  };
}
