/**
 * The two onnxruntime builds embedge runs a model on, behind one small interface:
 *
 * - `native`: onnxruntime-node (a native addon, CPU, multi-threaded), loaded only when
 *   asked for or when `auto` finds it: it is an optional dependency, absent from edge
 *   installs, and cannot load on Workers or in browsers. 3-5× faster than WASM here.
 * - `wasm`: onnxruntime-web (WebAssembly, SIMD), the portable build: the only one on
 *   Cloudflare Workers (there with a precompiled module, ort_wasm.ts) and in browsers.
 *
 * `auto` (the default) tries `native` and falls back to `wasm`; `ModelSession.backend` says
 * which one a session got.
 *
 * @example
 * ```ts
 * import { loadRuntime } from "./runtimes.ts";
 * const runtime = await loadRuntime("auto");
 * console.log(runtime.name); // "native" where onnxruntime-node loads, else "wasm"
 * ```
 * @module
 */
import type * as OrtWeb from "../../deps/onnxruntime_web.ts";
import { InputError, ModelLoadError } from "../../errors.ts";
import type { OrtSession } from "../onnx/ort_session.ts";
export type { OrtSession };

let ortWebModule: Promise<typeof OrtWeb> | undefined;
/**
 * onnxruntime-web, imported on first use rather than at module load: a Worker build that
 * leaves it out (edge/wrangler.jsonc aliases its `npm:` specifier to edge/ort_web_excluded.ts, whose import
 * fails saying so) then carries neither its JS nor its wasm, and the kernels run every
 * model they recognise without it. A failed import is not kept: the next session tries again.
 */
export function loadOrtWeb(): Promise<typeof OrtWeb> {
  ortWebModule ??= import("../../deps/onnxruntime_web.ts").catch((e) => {
    ortWebModule = undefined;
    throw e;
  });
  return ortWebModule;
}
let ortWeb: typeof OrtWeb | undefined; // set by the first create()

/** What a caller may ask for. */
export type Backend = "auto" | "native" | "wasm";
/** The backends, for validation and help texts. */
export const BACKENDS: readonly Backend[] = ["auto", "native", "wasm"];

/** One loaded onnxruntime build. */
export interface Runtime {
  name: "native" | "wasm";
  /** An int64 tensor of this build. */
  int64(data: BigInt64Array, dims: number[]): unknown;
  /** A session from model bytes; `threads` 0 means the build's default. */
  create(
    bytes: Uint8Array,
    options: { externalData?: { path: string; data: Uint8Array }[]; threads: number },
  ): Promise<OrtSession>;
}

/** onnxruntime-web's session options, set once per process (its env is global). */
let wasmThreads: number | undefined;

const wasm: Runtime = {
  name: "wasm",
  // only sessions made by create() take these, so the module is loaded by then
  int64: (data, dims) => new ortWeb!.Tensor("int64", data, dims),
  async create(bytes, { externalData, threads }) {
    const ort = ortWeb = await loadOrtWeb();
    // ORT initialises its WASM module once, with the thread count in force then
    const want = threads || 1;
    if (wasmThreads === undefined) {
      wasmThreads = want;
      ort.env.wasm.numThreads = want;
      ort.env.logLevel = "error";
    } else if (wasmThreads !== want) {
      throw new InputError(
        `the wasm backend was initialised with ${wasmThreads} thread(s) in this process; it cannot switch to ${want}`,
        "threads",
      );
    }
    return await ort.InferenceSession.create(bytes, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
      ...(externalData ? { externalData } : {}),
    }) as OrtSession;
  },
};

let native: Promise<Runtime | Error> | undefined;

/** onnxruntime-node's version; keep it equal to node_modules' and package.json's. */
export const ONNXRUNTIME_NODE_VERSION = "1.30.0";

/**
 * What to import for onnxruntime-node. Computed at run time so that bundlers for Workers and
 * browsers do not follow it (it is a native addon, and optional). On Deno a versioned `npm:`
 * specifier, which resolves without the importer's package.json (from node_modules inside
 * this repository); on Node the bare name, which npm installed as an optional dependency.
 */
export function nativeSpecifier(deno = "Deno" in globalThis): string {
  const name = ["onnxruntime", "node"].join("-");
  return deno ? `npm:${name}@${ONNXRUNTIME_NODE_VERSION}` : name;
}

/** onnxruntime-node, or the reason it cannot load here. */
function loadNative(): Promise<Runtime | Error> {
  native ??= (async () => {
    try {
      const specifier = nativeSpecifier();
      const ort = await import(specifier);
      const Tensor = ort.Tensor ?? ort.default?.Tensor;
      const InferenceSession = ort.InferenceSession ?? ort.default?.InferenceSession;
      if (!Tensor || !InferenceSession) return new Error("onnxruntime-node exports no session");
      return {
        name: "native",
        int64: (data: BigInt64Array, dims: number[]) => new Tensor("int64", data, dims),
        create: (bytes: Uint8Array, { externalData, threads }) =>
          InferenceSession.create(bytes, {
            graphOptimizationLevel: "all",
            ...(threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
            ...(externalData ? { externalData } : {}),
          }),
      } satisfies Runtime;
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  })();
  return native;
}

/**
 * Why `auto` runs without onnxruntime-node here, in words for a user (undefined when it
 * loads). On Node it is an optional dependency: npm drops it without a word when its
 * install script fails (the script fetches CUDA files from another host, so offline it
 * fails), and the fallback to onnxruntime-web is then the only trace.
 */
export async function nativeProblem(): Promise<string | undefined> {
  const n = await loadNative();
  if (!(n instanceof Error)) return undefined;
  const code = (n as { code?: unknown }).code;
  if (code === "ERR_MODULE_NOT_FOUND" || /Cannot find (package|module)/.test(n.message)) {
    return "onnxruntime-node is not installed (npm drops it when its install script fails)";
  }
  return `onnxruntime-node cannot load (${n.message.split("\n")[0]})`;
}

/** The runtime for a backend choice (`native` that cannot load is a ModelLoadError). */
export async function loadRuntime(backend: Backend = "auto"): Promise<Runtime> {
  if (!BACKENDS.includes(backend)) {
    throw new InputError(`backend must be one of ${BACKENDS.join(", ")}`, "backend");
  }
  if (backend === "wasm") return wasm;
  const n = await loadNative();
  if (!(n instanceof Error)) return n;
  if (backend === "auto") return wasm;
  throw new ModelLoadError(
    `the native backend (onnxruntime-node) cannot load here: ${n.message.split("\n")[0]}`,
    "backend",
    { cause: n },
  );
}
