// BERT encoder kernels: the arithmetic of one encoder forward pass, in WebAssembly SIMD with
// relaxed fused multiply-add. src/model/kernels/kernel_session.ts drives them (which kernel runs
// when, and where each tensor lives); src/model/kernels/bert_graph.ts finds the weights in an ONNX
// graph. Why they exist: at one sentence per call the model is ~87 % matrix products, and
// onnxruntime-web's single-threaded SGEMM runs at ~14.5 GMAC/s on this machine; `linear`
// (linear.ts) reaches ~20 (17×384 · 384×1536: 497 vs 707 µs), because it accumulates with
// `f32x4.relaxed_madd` (one FMA instead of a multiply and an add) in a 2-row × 16-column
// block that stays in registers.
//
// Every pointer is a byte offset into this module's memory; every tensor is float32,
// row-major, unless it says i32. Requirements (checked by the caller): hidden sizes and head
// sizes are multiples of 4; matrix widths may be anything (the last panel is padded).
//
// The entry of wasm/build.ts's two builds; the kernels live in modules by concept:
// linear.ts (fp32 products), math.ts (exp, erf, gelu), norm.ts (LayerNorm), attention.ts,
// embed.ts, quantize.ts (the activations of int8 products) and the three int8 products:
// int8.ts (i16 pairs), int8_relaxed.ts (7-bit weights), int8_unsigned.ts (uint8 × int8
// where exact). This file names the module's exports.

export { linear, packB, packedBytes } from "./linear";
export { gelu } from "./math";
export { addLayerNorm } from "./norm";
export { attention, attentionScratch } from "./attention";
export { embed, embedInt8 } from "./embed";
export {
  activationZeroPoint,
  quantizeActivations,
  quantizeActivationsI8,
  quantizeActivationsU8,
} from "./quantize";
export { linearInt8, packedInt8Bytes } from "./int8";
export { linearInt8Relaxed, relaxedBuild } from "./int8_relaxed";
export { linearInt8Unsigned, unsignedDotExact } from "./int8_unsigned";

/** Where callers may start placing tensors (after this module's own data). */
export function heapStart(): usize {
  return (__heap_base + 63) & ~63;
}
