/**
 * embedge's compiled BERT kernels (`wasm/kernels/bert.ts`, built by wasm/build.ts): where
 * the packaged builds are, which of them loads here, and the functions the module exports
 * (kernel_session.ts drives them). Two builds: relaxed SIMD (V8 ≥ 11.4: Deno, Node ≥ 22,
 * Chrome, workerd) and plain SIMD for runtimes without it (Node 20 without its flag,
 * Safari); `kernelsUnavailable()` says why neither loads here (file missing, or it does not
 * compile). The packaged files are compiled once per process; a Worker hands its imported
 * module over instead, since it cannot compile bytes.
 *
 * @example
 * ```ts
 * import { kernelsUnavailable, plainKernelsReason } from "./kernels_module.ts";
 * console.log(await kernelsUnavailable(), await plainKernelsReason()); // undefined undefined
 * ```
 * @module
 */
import { readUrl } from "../../host.ts";

/**
 * An int8 product that takes the zero point back through per-column weight sums
 * (`linearInt8Relaxed`, `linearInt8Unsigned`): C [M, N] from quantized A at `a`, packed B at
 * `bp`, its column sums, scales and bias, the activations' scale and zero point.
 */
type Int8ColumnSumProduct = (
  a: number,
  bp: number,
  colSums: number,
  scales: number,
  bias: number,
  xScale: number,
  zero: number,
  c: number,
  M: number,
  K: number,
  N: number,
) => void;

/** The functions the kernels' module exports (byte offsets into `memory`, sizes in elements). */
export interface Kernels {
  memory: WebAssembly.Memory;
  packedBytes(K: number, N: number): number;
  packB(src: number, dst: number, K: number, N: number): void;
  linear(a: number, bp: number, bias: number, c: number, M: number, K: number, N: number): void;
  addLayerNorm(
    x: number,
    residual: number,
    gamma: number,
    beta: number,
    out: number,
    M: number,
    H: number,
    eps: number,
  ): void;
  gelu(x: number, n: number): void;
  attentionScratch(S: number, headSize: number): number;
  attention(
    qkv: number,
    mask: number,
    context: number,
    scratch: number,
    B: number,
    S: number,
    heads: number,
    headSize: number,
    scale: number,
  ): void;
  embed(
    ids: number,
    types: number,
    word: number,
    position: number,
    type: number,
    out: number,
    B: number,
    S: number,
    H: number,
  ): void;
  heapStart(): number;
  packedInt8Bytes(K: number, N: number): number;
  relaxedBuild(): number;
  activationZeroPoint(): number;
  quantizeActivationsI8(x: number, q: number, n: number): number;
  linearInt8Relaxed: Int8ColumnSumProduct;
  quantizeActivations(x: number, q: number, n: number): number;
  unsignedDotExact(): number;
  quantizeActivationsU8(x: number, q: number, n: number): number;
  linearInt8Unsigned: Int8ColumnSumProduct;
  linearInt8(
    a: number,
    bp: number,
    scales: number,
    bias: number,
    xScale: number,
    c: number,
    M: number,
    K: number,
    N: number,
  ): void;
  embedInt8(
    ids: number,
    types: number,
    word: number,
    wordScales: number,
    position: number,
    type: number,
    out: number,
    B: number,
    S: number,
    H: number,
  ): void;
}

/** The kernels' two builds (wasm/build.ts): relaxed SIMD first, plain SIMD where it is missing. */
const RELAXED_BUILD = "bert_kernels.wasm";
const PLAIN_BUILD = "bert_kernels_simd.wasm";

/**
 * Where a build of the kernels is, next to this package. A function, not a constant: in a
 * Worker `import.meta.url` is no base URL and `new URL` throws at module load (the Worker
 * is handed the module and never asks).
 */
export const kernelsUrl = (name: string = RELAXED_BUILD): URL =>
  new URL(`../../../wasm/build/${name}`, import.meta.url);
let compiled: Promise<WebAssembly.Module | string> | undefined;
/** Why the packaged relaxed-SIMD build did not compile, when the plain build runs instead. */
let plainBuildReason: string | undefined;

/** One build's compiled module, or what went wrong (read, or compile). */
async function compileBuild(url: URL): Promise<WebAssembly.Module | string> {
  const name = url.pathname.split("/").pop();
  const bytes = await readUrl(url).catch((e) => e instanceof Error ? e.message : String(e));
  if (bytes === undefined) return `the kernels' file ${name} is missing (${url.href})`;
  if (typeof bytes === "string") return `the kernels' file ${name} could not be read: ${bytes}`;
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    return `the kernels (${name}) do not compile here: ${e instanceof Error ? e.message : e}`;
  }
}

/**
 * The compiled kernels, or what went wrong: the file could not be read, or it does not
 * compile here. The packaged kernels fall back from the relaxed-SIMD build to the plain one
 * where the runtime lacks relaxed SIMD (Node 20 without its flag, Safari): plain SIMD is
 * slower than fused multiply-adds but still faster than onnxruntime-web there
 * (bench/node_engines.ts).
 */
export function kernelsModule(
  given?: WebAssembly.Module,
  at?: URL,
): Promise<WebAssembly.Module | string> {
  // Workers cannot compile bytes: they import the .wasm as a module and hand it over
  if (given) return Promise.resolve(given);
  // one load for the packaged files (every session shares it); others (tests) each time
  if (at) return compileBuild(at);
  compiled ??= (async () => {
    const relaxed = await compileBuild(kernelsUrl(RELAXED_BUILD));
    if (typeof relaxed !== "string") return relaxed;
    const plain = await compileBuild(kernelsUrl(PLAIN_BUILD));
    if (typeof plain === "string") return relaxed; // neither: the first build's reason
    plainBuildReason = relaxed;
    return plain;
  })();
  return compiled;
}

/**
 * When the packaged kernels run their plain-SIMD build, why (the relaxed build's compile
 * error); undefined when the relaxed build runs or a module was given.
 */
export async function plainKernelsReason(given?: WebAssembly.Module): Promise<string | undefined> {
  if (given) return undefined;
  await kernelsModule();
  return plainBuildReason;
}

/**
 * Why the kernels cannot load here, or undefined when they can: a compiled module is given
 * (Workers: importing it proves the runtime validated it), or the wasm file at `url`
 * (default: the packaged one) is read and compiles (it needs relaxed SIMD).
 */
export async function kernelsUnavailable(
  given?: WebAssembly.Module,
  url?: URL,
): Promise<string | undefined> {
  const module = await kernelsModule(given, url);
  return typeof module === "string" ? module : undefined;
}

/** Whether the kernels load here (kernelsUnavailable says why not). */
export async function kernelsSupported(given?: WebAssembly.Module): Promise<boolean> {
  return (await kernelsUnavailable(given)) === undefined;
}
