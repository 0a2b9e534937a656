/** Kernels against onnxruntime-web, value by value (kernels_test.ts, kernels_int8_test.ts). */
import { assert, assertEquals } from "./assert.ts";
import { createSession, type SessionOptions } from "../../src/model/engine/session.ts";

/**
 * Runs both engines (the reference: onnxruntime-web, or onnxruntime-node) on padded batches and compares every output value of every real
 * (unpadded) token, each within `tolerance`; returns how many values were compared and the
 * largest difference seen.
 */
export async function compareKernelsWithOrt(
  bytes: Uint8Array,
  options: SessionOptions,
  vocab: number,
  tolerance: number,
  reference: "wasm" | "native" = "wasm",
): Promise<{ compared: number; maxDiff: number }> {
  const kernels = await createSession(bytes, { ...options, backend: "wasm" });
  const ort = await createSession(bytes, { ...options, backend: reference, kernels: false });
  assertEquals(kernels.engine, "embedge-kernels", kernels.engineNote);
  assertEquals(ort.engine, reference === "wasm" ? "onnxruntime-web" : "onnxruntime-node");
  assertEquals(kernels.stateOutputs, ort.stateOutputs);
  assertEquals(kernels.poolerOutput, ort.poolerOutput);
  const all = kernels.stateOutputs.map((_, i) => i);
  let compared = 0, maxDiff = 0;
  for (const [batch, seq] of [[1, 5], [3, 11], [2, 17]]) {
    const n = batch * seq;
    const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(1 + (i * 7919) % (vocab - 1)));
    // row r has r × 3 padding tokens at its end
    const lengths = Array.from({ length: batch }, (_, r) => Math.max(1, seq - 3 * r));
    const mask = BigInt64Array.from(
      { length: n },
      (_, i) => i % seq < lengths[(i / seq) | 0] ? 1n : 0n,
    );
    const types = BigInt64Array.from({ length: n }, (_, i) => (i % seq) > seq / 2 ? 1n : 0n);
    const a = await kernels.run(ids, mask, types, batch, seq, all);
    const b = await ort.run(ids, mask, types, batch, seq, all);
    const H = a.hiddenSize;
    const tokens = (x: Float32Array, y: Float32Array, what: string) => {
      assertEquals(x.length, y.length, `${what}: length`);
      for (let i = 0; i < x.length; i++) {
        if (!mask[Math.floor(i / H)]) continue;
        const d = Math.abs(x[i] - y[i]);
        maxDiff = Math.max(maxDiff, d);
        assert(d <= tolerance, `${what}[${i}] (batch ${batch}×${seq}): ${x[i]} vs ${y[i]}`);
        compared++;
      }
    };
    tokens(a.hidden, b.hidden, "hidden");
    a.states!.forEach((s, k) => tokens(s, b.states![k], `state ${k}`));
    assertEquals(a.pooler === undefined, b.pooler === undefined, "pooler presence");
    if (a.pooler) {
      for (let i = 0; i < a.pooler.length; i++) {
        const d = Math.abs(a.pooler[i] - b.pooler![i]);
        maxDiff = Math.max(maxDiff, d);
        assert(d <= tolerance, `pooler[${i}] (batch ${batch}×${seq}): ${d}`);
        compared++;
      }
    }
  }
  await kernels.release();
  await ort.release();
  return { compared, maxDiff };
}
