/**
 * Lists the external-data files an ONNX model references (initializers whose bytes live
 * outside the graph, as in large Hub exports), by walking the protobuf just far enough:
 * ModelProto.graph (7) → GraphProto.initializer (5) → TensorProto.external_data (13) →
 * StringStringEntryProto key (1) = "location", value (2).
 *
 * @example
 * ```ts
 * import { externalDataLocations } from "./onnx_external.ts";
 * console.log(externalDataLocations(new Uint8Array(0))); // []
 * ```
 * @module
 */
import { ModelLoadError } from "../errors.ts";

/** External data file names referenced by the model (deduplicated). */
export function externalDataLocations(model: Uint8Array): string[] {
  const found = new Set<string>();
  try {
    for (const [field, graph] of messages(model)) {
      if (field !== 7) continue;
      for (const [gf, tensor] of messages(graph)) {
        if (gf !== 5) continue;
        for (const [tf, entry] of messages(tensor)) {
          if (tf !== 13) continue;
          let key = "", value = "";
          for (const [ef, bytes] of messages(entry)) {
            if (ef === 1) key = new TextDecoder().decode(bytes);
            if (ef === 2) value = new TextDecoder().decode(bytes);
          }
          if (key === "location" && value) found.add(value);
        }
      }
    }
  } catch (cause) {
    throw new ModelLoadError(`the ONNX file is not a valid protobuf: ${cause}`, "onnx", { cause });
  }
  return [...found];
}

/** Length-delimited fields of a protobuf message: [field number, bytes]. */
function* messages(buf: Uint8Array): Generator<[number, Uint8Array]> {
  let i = 0;
  const varint = () => {
    let v = 0, shift = 0;
    for (;;) {
      if (i >= buf.length) throw new Error("truncated varint");
      const b = buf[i++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
      if (shift > 63) throw new Error("varint too long");
    }
  };
  while (i < buf.length) {
    const tag = varint();
    const field = Math.floor(tag / 8), wire = tag & 7;
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const len = varint();
      if (i + len > buf.length) throw new Error("truncated field");
      yield [field, buf.subarray(i, i + len)];
      i += len;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}
