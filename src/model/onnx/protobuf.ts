/**
 * Just enough protobuf to read and extend an ONNX model without a protobuf library (the
 * server path stays free of dev-only packages): walk the length-delimited fields of a
 * message, and write a length-delimited field. ONNX's messages, strings and packed
 * arrays are all length-delimited (wire type 2), which `fields` walks; `allFields` also
 * gives varint and fixed-width fields (an attribute's float, a tensor's data type).
 *
 * @example
 * ```ts
 * import { field, fields } from "./protobuf.ts";
 * // NodeProto { input: "x" (field 1), op_type: "Relu" (field 4) }
 * const node = new Uint8Array([...field(1, "x"), ...field(4, "Relu")]);
 * for (const [number, bytes] of fields(node)) console.log(number, new TextDecoder().decode(bytes));
 * // 1 x
 * // 4 Relu
 * ```
 * @module
 */

/** One length-delimited field: its number, and its payload as a view of the input. */
export type Field = [number: number, payload: Uint8Array, start: number, end: number];

/** Reads the varint at `at` in `buf`: `[value, the index after it]`. */
function readVarint(buf: Uint8Array, at: number): [number, number] {
  let v = 0, shift = 0;
  for (;;) {
    if (at >= buf.length) throw new Error("truncated varint");
    const b = buf[at++];
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [v, at];
    shift += 7;
    if (shift > 63) throw new Error("varint too long");
  }
}

/**
 * Every field of a message, in order: `[field number, wire type, value, start, end]`,
 * where value is the varint (wire type 0) or the payload (wire types 1, 2 and 5: a view
 * of `buf`; 8 or 4 bytes for the fixed-width ones), and `start..end` spans the whole
 * field. Throws on a truncated or malformed message.
 */
export function* allFields(
  buf: Uint8Array,
): Generator<[number, number, number | Uint8Array, number, number]> {
  let i = 0;
  while (i < buf.length) {
    const start = i;
    const [tag, afterTag] = readVarint(buf, i);
    i = afterTag;
    const number = Math.floor(tag / 8), wire = tag & 7;
    let value: number | Uint8Array = buf.subarray(i, i);
    if (wire === 0) [value, i] = readVarint(buf, i);
    else if (wire === 1 || wire === 5) {
      const width = wire === 1 ? 8 : 4;
      value = buf.subarray(i, i + width);
      i += width;
    } else if (wire === 2) {
      const [len, at] = readVarint(buf, i);
      if (at + len > buf.length) throw new Error("truncated field");
      value = buf.subarray(at, at + len);
      i = at + len;
    } else throw new Error(`unsupported wire type ${wire}`);
    if (i > buf.length) throw new Error("truncated field");
    yield [number, wire, value, start, i];
  }
}

/**
 * Length-delimited fields of a message, in order: `[field number, payload, start, end]`,
 * where `start..end` spans the whole field (tag and length included) in `buf`. Throws
 * on a truncated or malformed message.
 */
export function* fields(buf: Uint8Array): Generator<Field> {
  for (const [number, wire, value, start, end] of allFields(buf)) {
    if (wire === 2) yield [number, value as Uint8Array, start, end];
  }
}

/** The values of a repeated integer field `number`, packed or one varint each. */
export function integers(buf: Uint8Array, number: number): number[] {
  const out: number[] = [];
  for (const [n, wire, value] of allFields(buf)) {
    if (n !== number) continue;
    if (wire === 0) out.push(value as number);
    else if (wire === 2) {
      const packed = value as Uint8Array;
      for (let i = 0; i < packed.length;) {
        const [v, next] = readVarint(packed, i);
        out.push(v);
        i = next;
      }
    }
  }
  return out;
}

/** The string payloads of field `number` of a message. */
export function strings(buf: Uint8Array, number: number): string[] {
  const out: string[] = [];
  for (const [n, payload] of fields(buf)) if (n === number) out.push(decoder.decode(payload));
  return out;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Varint bytes of a non-negative integer. */
export function varint(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
  return out;
}

/** A length-delimited field (`number`, wire type 2) holding bytes, a string or fields. */
export function field(number: number, payload: Uint8Array | string | number[]): Uint8Array {
  const body = typeof payload === "string"
    ? encoder.encode(payload)
    : payload instanceof Uint8Array
    ? payload
    : Uint8Array.from(payload);
  const head = [...varint(number * 8 + 2), ...varint(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** A varint field (`number`, wire type 0). */
export function varintField(number: number, value: number): number[] {
  return [...varint(number * 8), ...varint(value)];
}

/** The parts (bytes or byte values) one after another in one array. */
export function concat(parts: readonly (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
