/**
 * Arenas: zeroed regions of shared buffers for what an encode hands out (an `Encoding`'s
 * rows, a batch's model tensors), so that a stream of encodings is not a stream of
 * ArrayBuffers, each with its own allocation and GC cost.
 *
 * @example
 * ```ts
 * import { Arena, RowArena } from "./arena.ts";
 * const arena = new Arena(1024);
 * console.log(arena.take(100), arena.take(100), arena.last.byteLength); // 0 100 1024
 * const rows = new RowArena();
 * const at = rows.alloc(3); // 3 tokens: 26 bytes each, rounded up to 4
 * console.log(at, rows.target.typesAt, rows.target.annotations.sequenceAt); // 0 3 75
 * ```
 * @module
 */
import type { RowAnnotations, RowTarget } from "./post_processor.ts";

/** Encodings' rows (26 bytes a token): an arena serves about a hundred short texts. */
export const ROW_ARENA_BYTES = 1 << 15;
/** Batches' model tensors (24 bytes a cell). */
export const TENSOR_ARENA_BYTES = 1 << 18;

/**
 * Zeroed regions of one buffer, each used once (what is written there is handed out and
 * lives on), so that a stream of encodings or batches is not a stream of ArrayBuffers, each
 * with its own allocation and GC cost: a new buffer when this one is full, and a buffer of
 * its own for a region over a quarter of the arena. Callers keep their own alignment.
 */
export class Arena {
  /** The buffer of the region `take` gave last. */
  last = new ArrayBuffer(0);
  #buffer = new ArrayBuffer(0);
  #used = 0;
  constructor(readonly size: number) {}
  /** Where a region of `bytes` starts, in `last` (no tuple: encode calls this each time). */
  take(bytes: number): number {
    if (bytes > this.size / 4) {
      this.last = new ArrayBuffer(bytes);
      return 0;
    }
    if (this.#used + bytes > this.#buffer.byteLength) {
      this.#buffer = new ArrayBuffer(this.size);
      this.#used = 0;
    }
    this.last = this.#buffer;
    const at = this.#used;
    this.#used += bytes;
    return at;
  }
}

/** A row target with every field (an `Encoding`'s). */
export type FullTarget = RowTarget & { annotations: RowAnnotations };

/**
 * The regions of encodings in a row arena, so an encode costs no buffer allocation.
 * Layout: ids, types, mask, words (i32 × w each), offsets (i32 × 2w),
 * special tokens mask and sequence ids (i8 × w each): 26 bytes a token. The row target
 * is one object over whole-arena views, moved by its offsets: making two views and an
 * object per encode was a tenth of a short text's encode time.
 */
export class RowArena {
  /** The buffer `target` views, which holds the region `alloc` gave last. */
  buffer = new ArrayBuffer(0);
  /** The target of the row `alloc` placed last. */
  target: FullTarget = arenaTarget(this.buffer);
  readonly #arena = new Arena(ROW_ARENA_BYTES);

  /** Places a row of `w` tokens: returns its byte offset in `buffer` and aims `target` at it. */
  alloc(w: number): number {
    const o = this.#arena.take(align4(w * 26));
    let t = this.target;
    if (this.#arena.last !== this.buffer) {
      this.buffer = this.#arena.last;
      t = this.target = arenaTarget(this.buffer);
    }
    const at = o >> 2;
    t.idsAt = at;
    t.typesAt = at + w;
    t.maskAt = at + 2 * w;
    const a = t.annotations;
    a.wordsAt = at + 3 * w;
    a.offsetsAt = at + 4 * w;
    a.specialAt = o + 24 * w;
    a.sequenceAt = o + 25 * w;
    return o;
  }
}

/** A row target over a whole arena (`RowArena.alloc` sets its offsets per row). */
function arenaTarget(arena: ArrayBuffer): FullTarget {
  const c = new Int32Array(arena), q = new Int8Array(arena);
  return {
    ids: c,
    idsAt: 0,
    types: c,
    typesAt: 0,
    mask: c,
    maskAt: 0,
    stride: 1,
    annotations: {
      words: c,
      wordsAt: 0,
      offsets: c,
      offsetsAt: 0,
      special: q,
      specialAt: 0,
      sequence: q,
      sequenceAt: 0,
    },
  };
}

/** `n` rounded up to a multiple of 4. */
export function align4(n: number): number {
  return (n + 3) & ~3;
}
