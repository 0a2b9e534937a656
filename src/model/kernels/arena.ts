/**
 * The kernels' memory as a stack (kernel_session.ts): the packed weights first, then each
 * run's tensors, released after the run by setting the top back to the weights' end. The
 * memory only grows (WebAssembly memories cannot shrink), up to 4 GiB (wasm32) or what the
 * session's options or the host allow; what does not fit is a `MemoryShort`, which the
 * session turns into a ModelLoadError (weights) or an InputError (a run).
 *
 * @example
 * ```ts
 * import { Arena, MemoryShort } from "./arena.ts";
 * const arena = new Arena(new WebAssembly.Memory({ initial: 1 }), 0, 2 * 65536);
 * const at = arena.put(Float32Array.of(1, 2, 3));
 * console.log(at, arena.top); // 0 64: 12 bytes, placed 64-byte aligned
 * try {
 *   arena.alloc(3 * 65536);
 * } catch (e) {
 *   console.log(e instanceof MemoryShort, (e as Error).message); // true 192.1 KiB needed, at most 128.0 KiB
 * }
 * ```
 * @module
 */

/** wasm32's address space: 65,536 pages of 64 KiB. */
export const WASM32_BYTES = 2 ** 32;

/** Thrown by `Arena.reserve`: the memory cannot reach what is needed. */
export class MemoryShort extends Error {}

export const mib = (bytes: number) =>
  bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * The kernels' memory as a stack: tensors are placed at `top`, 64-byte aligned; a run's are
 * released by setting `top` back to the weights' end. The memory only grows.
 */
export class Arena {
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
