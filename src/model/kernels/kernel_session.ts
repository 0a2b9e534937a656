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
 * Memory: the weights, packed for the kernels, live in the module's memory (a MiniLM-sized
 * model ~90 MB, ~24 MB int8); activations are placed after them for each run and released after it.
 * The memory ends at 4 GiB (wasm32) or earlier where the host refuses to grow it: weights
 * that do not fit are a ModelLoadError (session.ts then runs the graph on onnxruntime-web),
 * a run that does not fit an InputError naming the batch's size, checked before anything
 * of it is placed (MiniLM needs ~18 KiB per token plus S² floats of attention scratch).
 * Two builds: relaxed SIMD (V8 ≥ 11.4: Deno, Node ≥ 22, Chrome, workerd) and plain SIMD for
 * runtimes without it (Node 20 without its flag, Safari); `kernelsUnavailable()` says why
 * neither loads here (file missing, or it does not compile).
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
import { readUrl } from "../../host.ts";
import type { BertGraphWeights, Int8Matrix, Matrix, Norm } from "./bert_graph.ts";
import type { OrtSession } from "../engine/runtimes.ts";

interface Kernels {
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
  linearInt8Relaxed(
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
  ): void;
  quantizeActivations(x: number, q: number, n: number): number;
  unsignedDotExact(): number;
  quantizeActivationsU8(x: number, q: number, n: number): number;
  linearInt8Unsigned(
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
  ): void;
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

/** The tensors `run` takes (int64 `[batch, seq]`) and gives. */
interface Tensor {
  data: unknown;
  dims: readonly number[];
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
function kernelsModule(
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

/** Why a graph's sizes do not suit the kernels (they need multiples of 4), or undefined. */
export function kernelSizeProblem(w: BertGraphWeights): string | undefined {
  const headSize = w.hidden / w.heads;
  if (w.hidden % 4 || headSize % 4 || w.intermediate % 4) {
    return `hidden ${w.hidden}, head ${headSize} and intermediate ${w.intermediate} sizes must be multiples of 4`;
  }
  return undefined;
}

/**
 * A packed projection weight: float32 for `linear`, or int8 for `linearInt8` with its
 * per-column scales at `scales` (padded to whole panels).
 */
interface PlacedMatrix {
  at: number;
  scales?: number;
  /**
   * 7-bit weights in linearInt8Relaxed's layout, or (`unsigned`) any int8 weights in it
   * without the + 64: the column sums (i32, padded).
   */
  colSums?: number;
  /** Multiplied by linearInt8Unsigned (the runtime's relaxed dot is exact uint8 × int8). */
  unsigned?: boolean;
}

interface Layer {
  qkv: PlacedMatrix;
  qkvBias: number;
  output: PlacedMatrix;
  outputBias: number;
  attentionNorm: [number, number, number];
  intermediate: PlacedMatrix;
  intermediateBias: number;
  down: PlacedMatrix;
  downBias: number;
  outputNorm: [number, number, number];
}

/** The weights in the kernels' memory: byte offsets (norms: gamma, beta and ε). */
interface Placed {
  words: number;
  /** The int8 word table's row scales; 0: the table is float. */
  wordScales: number;
  positions: number;
  /** 0: no token-type table. */
  types: number;
  embeddingNorm: [number, number, number];
  layers: Layer[];
  pooler?: { weight: PlacedMatrix; bias: number };
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

/** wasm32's address space: 65,536 pages of 64 KiB. */
const WASM32_BYTES = 2 ** 32;

/** Thrown by `Arena.reserve`: the memory cannot reach what is needed. */
class MemoryShort extends Error {}

const mib = (bytes: number) =>
  bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * The kernels' memory as a stack: tensors are placed at `top`, 64-byte aligned; a run's are
 * released by setting `top` back to the weights' end. The memory only grows.
 */
class Arena {
  top: number;
  constructor(
    readonly memory: WebAssembly.Memory,
    start: number,
    readonly maxBytes: number,
  ) {
    this.top = start;
  }

  /** Makes the memory hold `end` bytes (a failed grow leaves it as it was). */
  reserve(end: number): void {
    if (end > this.maxBytes) {
      throw new MemoryShort(`${mib(end)} needed, at most ${mib(this.maxBytes)}`);
    }
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    try {
      this.memory.grow(Math.ceil((end - have) / 65536));
    } catch (e) {
      // the host refused (out of memory, a Worker's limit): V8 throws a RangeError
      throw new MemoryShort(`growing to ${mib(end)} failed: ${e instanceof Error ? e.message : e}`);
    }
  }

  /** Room for `bytes` at the top; its offset. */
  alloc(bytes: number): number {
    const at = this.top, end = at + Math.ceil(bytes / 64) * 64;
    this.reserve(end);
    this.top = end;
    return at;
  }

  /** A copy of `a` at the top (with room for `bytes`); its offset. */
  put(a: Float32Array | Int32Array | Int8Array, bytes = a.byteLength): number {
    const at = this.alloc(bytes);
    new Uint8Array(this.memory.buffer, at, a.byteLength).set(
      new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
    );
    return at;
  }
}

/**
 * Query, key and value side by side ([H, 3H]), for one product: all three float, or all
 * three int8 (their scales side by side too; one quantized input serves all three, as the
 * graph's three DynamicQuantizeLinear of the same tensor give the same numbers).
 */
function concatColumns(parts: Matrix[], H: number): Matrix {
  const float = parts.filter((p) => p instanceof Float32Array).length;
  if (float !== 0 && float !== parts.length) {
    throw new ModelLoadError("query, key and value are not all float or all int8", "onnx");
  }
  const rows = <T extends Float32Array | Int8Array>(out: T, of: (p: Matrix) => T): T => {
    for (let r = 0; r < H; r++) {
      parts.forEach((p, i) => out.set(of(p).subarray(r * H, (r + 1) * H), (r * 3 + i) * H));
    }
    return out;
  };
  if (float) return rows(new Float32Array(H * 3 * H), (p) => p as Float32Array);
  const scales = new Float32Array(3 * H);
  parts.forEach((p, i) => scales.set((p as Int8Matrix).scales, i * H));
  return { q: rows(new Int8Array(H * 3 * H), (p) => (p as Int8Matrix).q), scales };
}

/**
 * Packs q [K, N] (K even) into `dst` in linearInt8's layout (wasm/kernels/int8.ts has a worked
 * example):
 * per panel of 16 columns, per pair of rows, each column's two values side by side.
 */
export function packInt8(dst: Int8Array, q: Int8Array, K: number, N: number): void {
  let o = 0;
  for (let p = 0; p < N; p += 16) {
    for (let r = 0; r < K; r += 2) {
      for (let j = 0; j < 16; j++, o += 2) {
        // padding columns are written too: earlier weights' scratch may have been here
        const inside = p + j < N;
        dst[o] = inside ? q[r * N + p + j] : 0;
        dst[o + 1] = inside ? q[(r + 1) * N + p + j] : 0;
      }
    }
  }
}

/**
 * Packs 7-bit q [K, N] (K % 4 == 0) into `dst` in linearInt8Relaxed's layout (int8_relaxed.ts has a
 * worked example): per panel of 16 columns, per group of 4 rows, each column's 4 values + 64
 * side by side (padding columns: 64, weight 0). Returns each column's Σ q. `shift` 0: any
 * int8 q as it is, for linearInt8Unsigned.
 */
export function packInt8Quads(
  dst: Int8Array,
  q: Int8Array,
  K: number,
  N: number,
  shift = 64,
): Int32Array {
  const sums = new Int32Array(N);
  let o = 0;
  for (let p = 0; p < N; p += 16) {
    for (let r = 0; r < K; r += 4) {
      for (let j = 0; j < 16; j++) {
        for (let i = 0; i < 4; i++, o++) {
          const v = p + j < N ? q[(r + i) * N + p + j] : 0;
          dst[o] = v + shift;
          if (p + j < N) sums[p + j] += v;
        }
      }
    }
  }
  return sums;
}

/** Packs every weight into the kernels' memory (MemoryShort when they do not fit). */
function placeWeights(k: Kernels, arena: Arena, w: BertGraphWeights): Placed {
  const H = w.hidden, I = w.intermediate;
  // checked once per instance: x64 with AVX-VNNI (wasm/kernels/int8_unsigned.ts)
  const unsigned = w.layers.some((L) => !(L.query instanceof Float32Array)) &&
    k.unsignedDotExact() === 1;
  /** A [K, N] matrix packed for `linear` (the unpacked copy is scratch, released). */
  const packed = (m: Matrix, K: number, N: number): PlacedMatrix => {
    if (!(m instanceof Float32Array)) {
      const bytes = k.packedInt8Bytes(K, N);
      const at = arena.alloc(bytes);
      const dst = new Int8Array(arena.memory.buffer, at, bytes);
      // uint8 × int8 in one instruction per 16 products, any weights
      if (unsigned) {
        const sums = packInt8Quads(dst, m.q, K, N, 0);
        const colSums = arena.put(sums, Math.ceil(N / 16) * 64);
        return { at, scales: bias(m.scales), colSums, unsigned };
      }
      // 7-bit weights (quantize --reduce-range) on the relaxed build: 16 products per step
      if (k.relaxedBuild() && m.q.every((v) => v >= -63 && v <= 63)) {
        const sums = packInt8Quads(dst, m.q, K, N);
        return { at, scales: bias(m.scales), colSums: arena.put(sums, Math.ceil(N / 16) * 64) };
      }
      packInt8(dst, m.q, K, N);
      return { at, scales: bias(m.scales) };
    }
    const at = arena.alloc(k.packedBytes(K, N));
    const scratch = arena.top;
    k.packB(arena.put(m), at, K, N);
    arena.top = scratch;
    return { at };
  };
  /**
   * A bias with room to whole panels of 16 (linear reads whole panels; the padding lanes,
   * left as they are, are never stored).
   */
  const bias = (b: Float32Array) => arena.put(b, Math.ceil(b.length / 16) * 64);
  const norm = (n: Norm): [number, number, number] => [
    arena.put(n.gamma),
    arena.put(n.beta),
    n.epsilon,
  ];
  const words = arena.put(w.words instanceof Float32Array ? w.words : w.words.q);
  const wordScales = w.words instanceof Float32Array ? 0 : arena.put(w.words.scales);
  const positions = arena.put(w.positions);
  const types = w.types ? arena.put(w.types) : 0;
  const embeddingNorm = norm(w.embeddingNorm);
  const layers: Layer[] = w.layers.map((L) => {
    const qkv = concatColumns([L.query, L.key, L.value], H);
    const qkvBias = new Float32Array(3 * H);
    qkvBias.set(L.queryBias);
    qkvBias.set(L.keyBias, H);
    qkvBias.set(L.valueBias, 2 * H);
    return {
      qkv: packed(qkv, H, 3 * H),
      qkvBias: bias(qkvBias),
      output: packed(L.output, H, H),
      outputBias: bias(L.outputBias),
      attentionNorm: norm(L.attentionNorm),
      intermediate: packed(L.intermediate, H, I),
      intermediateBias: bias(L.intermediateBias),
      down: packed(L.down, I, H),
      downBias: bias(L.downBias),
      outputNorm: norm(L.outputNorm),
    };
  });
  const pooler = w.pooler
    ? { weight: packed(w.pooler.weight, H, H), bias: bias(w.pooler.bias) }
    : undefined;
  return {
    words,
    wordScales,
    positions,
    types,
    embeddingNorm,
    layers,
    ...(pooler ? { pooler } : {}),
  };
}

/** Bytes one run of `batch` × `seq` tokens places after the weights (as `forward` does). */
function runBytes(k: Kernels, w: BertGraphWeights, batch: number, seq: number): number {
  const r = (bytes: number) => Math.ceil(bytes / 64) * 64, T = batch * seq;
  const H = w.hidden, I = w.intermediate;
  // the quantized input of int8 projections: i16, the widest input (I)
  return 3 * r(T * 4) + 5 * r(T * H * 4) + r(T * 3 * H * 4) + r(T * I * 4) +
    r(k.attentionScratch(seq, H / w.heads) * 4) + (w.pooler ? 2 * r(batch * H * 4) : 0) +
    r(T * Math.max(H, I) * 2);
}

/** `[batch, seq]` int64 → i32, each value checked against `rows`. */
function indices(t: Tensor | undefined, count: number, rows: number, name: string) {
  const out = new Int32Array(count);
  if (!t) return out;
  const data = t.data as BigInt64Array;
  for (let i = 0; i < count; i++) {
    const v = Number(data[i]);
    if (!(v >= 0 && v < rows)) {
      throw new InputError(`${name}[${i}] = ${v} is outside 0…${rows - 1}`, name);
    }
    out[i] = v;
  }
  return out;
}

type Outputs = Record<string, { data: Float32Array; dims: number[]; type: string }>;

/**
 * One forward pass of `[B, S]` tokens (`ids` and the other feeds) placed after the weights;
 * the caller sets `arena.top` back after it. The outputs asked for, copied out.
 */
function forward(
  k: Kernels,
  arena: Arena,
  w: BertGraphWeights,
  placed: Placed,
  feeds: Record<string, unknown>,
  fetches: readonly string[],
): Outputs {
  const ids = feeds.input_ids as Tensor;
  const [B, S] = ids.dims;
  const T = B * S, H = w.hidden, I = w.intermediate, headSize = H / w.heads;
  const { memory } = arena;
  const { words, wordScales, positions, types, embeddingNorm, layers, pooler } = placed;
  const maskFeed = feeds.attention_mask as Tensor | undefined;
  const idsAt = arena.put(indices(ids, T, w.wordRows, "input_ids"));
  const typesAt = arena.put(
    indices(
      feeds.token_type_ids as Tensor | undefined,
      T,
      Math.max(w.typeRows, 1),
      "token_type_ids",
    ),
  );
  const mask = maskFeed
    ? indices(maskFeed, T, 2 ** 31, "attention_mask")
    : new Int32Array(T).fill(1);
  const maskAt = arena.put(mask);
  const wanted = new Set(fetches);
  const out: Outputs = {};
  const keep = (name: string, at: number) => {
    if (wanted.has(name)) {
      out[name] = {
        data: new Float32Array(memory.buffer, at, T * H).slice(),
        dims: [B, S, H],
        type: "float32",
      };
    }
  };
  const alloc = (bytes: number) => arena.alloc(bytes);
  let x = alloc(T * H * 4);
  let spare = alloc(T * H * 4);
  const sum = alloc(T * H * 4), attended = alloc(T * H * 4);
  const qkv = alloc(T * 3 * H * 4), context = alloc(T * H * 4);
  const raised = alloc(T * I * 4), scratch = alloc(k.attentionScratch(S, headSize) * 4);
  const quantized = alloc(T * Math.max(H, I) * 2);
  const scale = 1 / Math.sqrt(headSize);
  /** out [M, N] = x [M, K] · m + bias, on `linear` or, for an int8 m, `linearInt8`. */
  const project = (
    x: number,
    m: PlacedMatrix,
    bias: number,
    out: number,
    M: number,
    K: number,
    N: number,
  ) => {
    if (m.scales === undefined) return k.linear(x, m.at, bias, out, M, K, N);
    if (m.unsigned) {
      const xScale = k.quantizeActivationsU8(x, quantized, M * K);
      const zero = k.activationZeroPoint();
      return k.linearInt8Unsigned(
        quantized,
        m.at,
        m.colSums!,
        m.scales,
        bias,
        xScale,
        zero,
        out,
        M,
        K,
        N,
      );
    }
    if (m.colSums !== undefined) {
      const xScale = k.quantizeActivationsI8(x, quantized, M * K);
      const zero = k.activationZeroPoint();
      return k.linearInt8Relaxed(
        quantized,
        m.at,
        m.colSums,
        m.scales,
        bias,
        xScale,
        zero,
        out,
        M,
        K,
        N,
      );
    }
    // per tensor, as the graph's DynamicQuantizeLinear: every row, padding included
    const xScale = k.quantizeActivations(x, quantized, M * K);
    k.linearInt8(quantized, m.at, m.scales, bias, xScale, out, M, K, N);
  };
  if (wordScales) k.embedInt8(idsAt, typesAt, words, wordScales, positions, types, sum, B, S, H);
  else k.embed(idsAt, typesAt, words, positions, types, sum, B, S, H);
  k.addLayerNorm(sum, 0, embeddingNorm[0], embeddingNorm[1], x, T, H, embeddingNorm[2]);
  layers.forEach((L, l) => {
    keep(w.states[l], x);
    project(x, L.qkv, L.qkvBias, qkv, T, H, 3 * H);
    k.attention(qkv, maskAt, context, scratch, B, S, w.heads, headSize, scale);
    project(context, L.output, L.outputBias, sum, T, H, H);
    const [g1, b1, e1] = L.attentionNorm;
    k.addLayerNorm(sum, x, g1, b1, attended, T, H, e1);
    project(attended, L.intermediate, L.intermediateBias, raised, T, H, I);
    k.gelu(raised, T * I);
    project(raised, L.down, L.downBias, sum, T, I, H);
    const [g2, b2, e2] = L.outputNorm;
    k.addLayerNorm(sum, attended, g2, b2, spare, T, H, e2);
    [x, spare] = [spare, x];
  });
  keep(w.hiddenOutput, x);
  if (pooler && w.poolerOutput && wanted.has(w.poolerOutput)) {
    // the first token of each row, then dense + tanh
    const first = alloc(B * H * 4), dense = alloc(B * H * 4);
    for (let b = 0; b < B; b++) {
      new Float32Array(memory.buffer, first + b * H * 4, H)
        .set(new Float32Array(memory.buffer, x + b * S * H * 4, H));
    }
    project(first, pooler.weight, pooler.bias, dense, B, H, H);
    const data = new Float32Array(memory.buffer, dense, B * H).map(Math.tanh);
    out[w.poolerOutput] = { data, dims: [B, H], type: "float32" };
  }
  for (const name of fetches) {
    if (!out[name]) throw new InputError(`the kernels have no output ${name}`, "fetches");
  }
  return out;
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
  const weightsEnd = arena.top;
  let released = false;
  return {
    inputNames: w.inputs,
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
