/**
 * The BERT session on onnxruntime-web (WebAssembly, SIMD, one thread): loads ONNX bytes,
 * finds the inputs (`input_ids`, `attention_mask`, optional `token_type_ids`) and outputs
 * (`last_hidden_state`, a pooler output if exported) and runs batches of int64 tensors.
 *
 * @example
 * ```ts
 * import { createSession } from "./session.ts";
 * const session = await createSession(await Deno.readFile("model.onnx"));
 * console.log(session.inputNames, session.hiddenOutput);
 * ```
 * @module
 */
import * as ort from "onnxruntime-web";
import { ModelLoadError } from "../errors.ts";
import { withCompiledOrtWasm } from "./ort_wasm.ts";

const HIDDEN_NAMES = ["last_hidden_state", "token_embeddings", "hidden_states", "output_0"];
const POOLER_NAMES = ["pooler_output", "pooled_output", "tanh", "sentence_embedding"];
const KNOWN_INPUTS = new Set(["input_ids", "attention_mask", "token_type_ids"]);

/** One run's outputs. */
export interface SessionOutput {
  /** `[batch, seq, hiddenSize]` */
  hidden: Float32Array;
  hiddenSize: number;
  /** `[batch, hiddenSize]`, when the model exports a pooler. */
  pooler?: Float32Array;
}

/** A loaded model. */
export interface ModelSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  hasTokenTypes: boolean;
  hasAttentionMask: boolean;
  hiddenOutput: string;
  poolerOutput?: string;
  /** Runs `[batch, seq]` tensors (int64 row-major). */
  run(
    ids: BigInt64Array,
    mask: BigInt64Array,
    types: BigInt64Array,
    batch: number,
    seq: number,
  ): Promise<SessionOutput>;
  release(): Promise<void>;
}

/** Options of `createSession`. */
export interface SessionOptions {
  /** External data files of the graph (name as referenced by the model → bytes). */
  externalData?: { path: string; data: Uint8Array }[];
  /** ORT's `ort-wasm-simd-threaded.wasm`, precompiled (Workers: the imported module). */
  wasm?: WebAssembly.Module;
}

let configured = false;
function configure(): void {
  if (configured) return;
  configured = true;
  ort.env.wasm.numThreads = 1; // module workers are not available to its loader in Deno
  ort.env.logLevel = "error";
}

/** Creates a session from ONNX bytes; errors name what is wrong with the model. */
export async function createSession(
  bytes: Uint8Array,
  options: SessionOptions = {},
): Promise<ModelSession> {
  configure();
  let session: ort.InferenceSession;
  try {
    const create = () =>
      ort.InferenceSession.create(bytes, {
        executionProviders: ["wasm"],
        graphOptimizationLevel: "all",
        ...(options.externalData ? { externalData: options.externalData } : {}),
      });
    session = options.wasm ? await withCompiledOrtWasm(options.wasm, create) : await create();
  } catch (cause) {
    throw new ModelLoadError(
      `onnxruntime cannot load the model: ${String(cause).slice(0, 300)}`,
      "onnx",
      { cause },
    );
  }
  const inputNames = session.inputNames;
  const outputNames = session.outputNames;
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
  const hiddenOutput = HIDDEN_NAMES.find((n) => outputNames.includes(n)) ?? outputNames[0];
  const poolerOutput = POOLER_NAMES.find((n) => outputNames.includes(n) && n !== hiddenOutput);
  const hasTokenTypes = inputNames.includes("token_type_ids");
  const hasAttentionMask = inputNames.includes("attention_mask");
  return {
    inputNames,
    outputNames,
    hasTokenTypes,
    hasAttentionMask,
    hiddenOutput,
    poolerOutput,
    async run(ids, mask, types, batch, seq) {
      const dims = [batch, seq];
      const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor("int64", ids, dims) };
      if (hasAttentionMask) feeds.attention_mask = new ort.Tensor("int64", mask, dims);
      if (hasTokenTypes) feeds.token_type_ids = new ort.Tensor("int64", types, dims);
      const fetches = poolerOutput ? [hiddenOutput, poolerOutput] : [hiddenOutput];
      const out = await session.run(feeds, fetches);
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
      };
    },
    release: () => session.release(),
  };
}
