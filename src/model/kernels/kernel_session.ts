/**
 * A BERT encoder run by embedge's own WebAssembly kernels (`wasm/kernels/bert.ts`), behind
 * the same small session interface as onnxruntime (runtimes.ts): the WASM backend's engine
 * for graphs bert_graph.ts recognises, on one thread. It is 1.46–1.60× onnxruntime-web's
 * single-threaded speed on the MiniLM structure (bench/results/wasm-peers-*), because at
 * BERT sizes the encoder is matrix products and the kernels multiply with relaxed-SIMD
 * fused multiply-adds, which onnxruntime-web's build does not use.
 *
 * int8 graphs (quantize.ts) run their projections on `linearInt8` (integer dot products,
 * onnxruntime's quantize and rescale arithmetic: tests/kernels_int8_test.ts), or on
 * `linearInt8Unsigned` where the runtime's relaxed dot product is exact uint8 × int8 (x64
 * with AVX-VNNI: 16 products per instruction; checked per instance), and read their
 * int8 word table row by row (`embedInt8`); bench/int8_kernels.ts measures them.
 *
 * Memory: the weights, packed for the kernels (packing.ts), live in the module's memory (a
 * MiniLM-sized model ~90 MB, ~24 MB int8); activations are placed after them for each run
 * (forward.ts) and released after it (arena.ts). While they are packed the model's file is
 * alive too (the graph reader's weights are views of it); once packed, the session keeps
 * sizes and names only, so the file is the collector's: on the MiniLM structure, resident
 * memory after a load went from 124.6 to 101.0 MiB (int8) and 253.2 to 165.9 MiB (fp32),
 * the load's peak unchanged (bench/results/load-memory-2026-12-06T14-02-32-191Z-vm.md).
 * The memory ends at 4 GiB (wasm32) or earlier where the host refuses to grow it: weights
 * that do not fit are a ModelLoadError (session.ts then runs the graph on onnxruntime-web),
 * a run that does not fit an InputError naming the batch's size, checked before anything
 * of it is placed (MiniLM needs ~18 KiB per token plus S² floats of attention scratch).
 * Two builds: relaxed SIMD (V8 ≥ 11.4: Deno, Node ≥ 22, Chrome, workerd) and plain SIMD for
 * runtimes without it (Node 20 without its flag, Safari); `kernelsUnavailable()` says why
 * neither loads here (file missing, or it does not compile): kernels_module.ts.
 *
 * @example
 * ```ts
 * import { bertGraphWeights } from "./bert_graph.ts";
 * import { createKernelSession } from "./kernel_session.ts";
 * import { bertOnnx, bertWeights } from "../fixtures/generated_bert.ts";
 * const weights = bertGraphWeights(
 *   bertOnnx(bertWeights({ vocabSize: 50, hidden: 8, layers: 1, heads: 2, intermediate: 16 })),
 *   { heads: 2 },
 * );
 * if (typeof weights === "string") throw new Error(weights);
 * const session = await createKernelSession(weights);
 * const ids = BigInt64Array.of(1n, 7n, 2n);
 * const out = await session.run({ input_ids: { data: ids, dims: [1, 3] } }, ["last_hidden_state"]);
 * console.log(out.last_hidden_state.dims); // [ 1, 3, 8 ]
 * ```
 * @module
 */
import { InputError, ModelLoadError } from "../../errors.ts";
import type { BertGraphWeights } from "./bert_graph.ts";
import type { OrtSession } from "../onnx/ort_session.ts";
import { Arena, MemoryShort, mib, WASM32_BYTES } from "./arena.ts";
import { forward, runBytes, type RunShape, runShape, type Tensor } from "./forward.ts";
import { type Kernels, kernelsModule } from "./kernels_module.ts";
import { type Placed, placeWeights } from "./packing.ts";

export {
  kernelsSupported,
  kernelsUnavailable,
  kernelsUrl,
  plainKernelsReason,
} from "./kernels_module.ts";
export { packInt8, packInt8Quads } from "./packing.ts";

/** Why a graph's sizes do not suit the kernels (they need multiples of 4), or undefined. */
export function kernelSizeProblem(w: BertGraphWeights): string | undefined {
  const headSize = w.hidden / w.heads;
  if (w.hidden % 4 || headSize % 4 || w.intermediate % 4) {
    return `hidden ${w.hidden}, head ${headSize} and intermediate ${w.intermediate} sizes must be multiples of 4`;
  }
  return undefined;
}

/** What a kernel session may use. */
export interface KernelOptions {
  /**
   * The most bytes the kernels' memory may reach: at most (and by default) 4 GiB, a 32-bit
   * WebAssembly memory's whole address space. A host may refuse less (a Worker's 128 MB);
   * either way a load that does not fit is a ModelLoadError, a run an InputError.
   */
  maxMemoryBytes?: number;
}

/**
 * Runs a BERT graph's weights on the kernels, or says why it cannot (the kernels do not load
 * here, the sizes do not suit them, the weights do not fit their memory): for session.ts,
 * which then runs the graph on onnxruntime-web with the reason as `engineNote`.
 */
export async function kernelSessionOrReason(
  w: BertGraphWeights,
  module?: WebAssembly.Module,
  options?: KernelOptions,
): Promise<OrtSession | string> {
  try {
    return await createKernelSession(w, module, options);
  } catch (e) {
    if (e instanceof ModelLoadError) return e.message;
    throw e;
  }
}

/**
 * Runs a BERT graph's weights on the kernels; the interface of an onnxruntime session.
 * `module`: the compiled kernels (Workers), else they are loaded next to this package.
 */
export async function createKernelSession(
  w: BertGraphWeights,
  module?: WebAssembly.Module,
  options: KernelOptions = {},
): Promise<OrtSession> {
  const loaded = await kernelsModule(module);
  if (typeof loaded === "string") throw new ModelLoadError(loaded, "backend");
  const problem = kernelSizeProblem(w);
  if (problem) throw new ModelLoadError(problem, "onnx");
  const k = new WebAssembly.Instance(loaded, {}).exports as unknown as Kernels;
  const maxBytes = Math.min(options.maxMemoryBytes ?? WASM32_BYTES, WASM32_BYTES);
  const arena = new Arena(k.memory, k.heapStart(), maxBytes);
  let placed: Placed;
  try {
    placed = placeWeights(k, arena, w);
  } catch (e) {
    if (!(e instanceof MemoryShort)) throw e;
    const message = `the kernels' memory cannot hold the weights: ${e.message}`;
    throw new ModelLoadError(message, "onnx", { cause: e });
  }
  return session(k, arena, placed, runShape(w));
}

/**
 * The session over weights packed at the start of `arena` (up to its top). It holds the
 * run's sizes and names only (forward.ts's `RunShape`): the graph's arrays, views of the
 * model's bytes, are left to the collector once packed.
 */
function session(k: Kernels, arena: Arena, placed: Placed, w: RunShape): OrtSession {
  const weightsEnd = arena.top;
  let released = false;
  return {
    inputNames: [...w.inputs],
    outputNames: [w.hiddenOutput, ...(w.poolerOutput ? [w.poolerOutput] : []), ...w.states],
    run(feeds, fetches) {
      if (released) return Promise.reject(new ModelLoadError("the session was released", "onnx"));
      const [B, S] = (feeds.input_ids as Tensor).dims;
      if (S > w.positionRows) {
        return Promise.reject(
          new InputError(
            `sequence of ${S} tokens; the model has ${w.positionRows} positions`,
            "input_ids",
          ),
        );
      }
      try {
        // all of the run's memory at once: a batch too big fails before anything is placed
        arena.reserve(weightsEnd + runBytes(k, w, B, S));
        return Promise.resolve(forward(k, arena, w, placed, feeds, fetches));
      } catch (e) {
        if (!(e instanceof MemoryShort)) return Promise.reject(e);
        return Promise.reject(
          new InputError(
            `a batch of ${B} × ${S} tokens does not fit the kernels' memory (${e.message}; ` +
              `the weights take ${mib(weightsEnd)}): send fewer or shorter texts per call, ` +
              `or lower batchTokens`,
            "input",
          ),
        );
      } finally {
        arena.top = weightsEnd;
      }
    },
    release() {
      released = true;
      return Promise.resolve();
    },
  };
}
