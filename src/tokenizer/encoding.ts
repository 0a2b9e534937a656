/**
 * The objects encodes hand out: an `Encoding` over a region of a row arena, and the
 * batch of the wasm path, whose fields other than the model tensors are made on first
 * read. Both views are made lazily, and both classes keep one object for good (see
 * `ArenaEncoding`).
 *
 * @example
 * ```ts
 * import { Tokenizer } from "./tokenizer.ts";
 * const tok = await Tokenizer.fromVocab(await Deno.readTextFile("../shared/models/bert-base-uncased/vocab.txt"));
 * const enc = tok.encode("Hi"); // an ArenaEncoding
 * console.log([...enc.ids].join(" "), enc.tokens.join(" ")); // 101 7632 102 [CLS] hi [SEP]
 * const batch = tok.encodeBatch(["Hi", "I love Paris."]); // a WasmBatch
 * console.log(batch.sequenceLength, [...batch.wordIds.subarray(0, 6)].join(" ")); // 6 -1 0 -1 -1 -1 -1
 * ```
 * @module
 */
import type { BatchEncoding, Encoding, Tokenizer } from "./tokenizer.ts";

/** An Encoding over a region of an arena; field views are made on first access. */
export class ArenaEncoding implements Encoding {
  #tokenizer: Tokenizer;
  #buf: ArrayBuffer;
  #at: number;
  #w: number;
  #ids?: Int32Array;
  // V8 links the shapes an object goes through weakly, so a shape lives only while some
  // object has it: when a full GC found no Encoding left, it dropped their shape, and with
  // it the optimized code of encode and of these getters (each GC then cost a re-warm:
  // a tenth of the time of a big.txt run). One Encoding kept for good keeps the shape.
  static #keep: Encoding;
  static {
    ArenaEncoding.#keep = new ArenaEncoding(
      null as unknown as Tokenizer,
      new ArrayBuffer(0),
      0,
      0,
    );
  }
  constructor(tokenizer: Tokenizer, buf: ArrayBuffer, at: number, w: number) {
    this.#tokenizer = tokenizer;
    this.#buf = buf;
    this.#at = at;
    this.#w = w;
  }
  get ids(): Int32Array {
    return this.#ids ??= new Int32Array(this.#buf, this.#at, this.#w);
  }
  get typeIds(): Int32Array {
    return new Int32Array(this.#buf, this.#at + 4 * this.#w, this.#w);
  }
  get attentionMask(): Int32Array {
    return new Int32Array(this.#buf, this.#at + 8 * this.#w, this.#w);
  }
  get wordIds(): Int32Array {
    return new Int32Array(this.#buf, this.#at + 12 * this.#w, this.#w);
  }
  get offsets(): Uint32Array {
    return new Uint32Array(this.#buf, this.#at + 16 * this.#w, 2 * this.#w);
  }
  get specialTokensMask(): Uint8Array {
    return new Uint8Array(this.#buf, this.#at + 24 * this.#w, this.#w);
  }
  get sequenceIds(): Int8Array {
    return new Int8Array(this.#buf, this.#at + 25 * this.#w, this.#w);
  }
  get tokens(): string[] {
    return this.#tokenizer.convertIdsToTokens(this.ids);
  }
}

/**
 * A BatchEncoding whose model tensors are written (at `at` in `buf`, which other batches
 * may share) and whose other fields are made on first read (by `make`, which encodes the
 * inputs again, row by row).
 */
export class WasmBatch implements BatchEncoding {
  readonly batchSize: number;
  readonly sequenceLength: number;
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly tokenTypeIds: BigInt64Array;
  readonly lengths: Int32Array;
  #make: (() => BatchEncoding) | null;
  #rest: BatchEncoding | null = null;
  // one kept for good (see ArenaEncoding: a full GC would otherwise free the shape)
  static #keep: BatchEncoding;
  static {
    WasmBatch.#keep = new WasmBatch(
      0,
      0,
      new ArrayBuffer(0),
      0,
      new Int32Array(0),
      () => WasmBatch.#keep,
    );
  }
  constructor(
    count: number,
    width: number,
    buf: ArrayBuffer,
    at: number,
    lengths: Int32Array,
    make: () => BatchEncoding,
  ) {
    const cells = count * width;
    this.batchSize = count;
    this.sequenceLength = width;
    this.inputIds = new BigInt64Array(buf, at, cells);
    this.attentionMask = new BigInt64Array(buf, at + cells * 8, cells);
    this.tokenTypeIds = new BigInt64Array(buf, at + cells * 16, cells);
    this.lengths = lengths;
    this.#make = make;
  }
  #others(): BatchEncoding {
    if (!this.#rest) {
      this.#rest = this.#make!();
      this.#make = null; // (the inputs it holds can go)
    }
    return this.#rest;
  }
  get specialTokensMask(): Uint8Array {
    return this.#others().specialTokensMask;
  }
  get wordIds(): Int32Array {
    return this.#others().wordIds;
  }
  get sequenceIds(): Int8Array {
    return this.#others().sequenceIds;
  }
  get offsets(): Uint32Array {
    return this.#others().offsets;
  }
}
