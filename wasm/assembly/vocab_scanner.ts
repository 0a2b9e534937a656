import { E_SCAN } from "./errors";

// Reads a JSON object of token → id (tokenizer.json's model.vocab) straight into the form
// `build` takes, so a first load does not parse 30k keys into a JS object and back out.
// The input is UTF-8 (TextEncoder.encodeInto is the cheapest way into wasm memory), the
// tokens come out as UTF-16 back to back, ids must be plain non-negative integers.
// Anything else (exponents, fractions, a raw control character, a bad escape) returns
// E_SCAN: the caller then takes the JSON.parse path, which either accepts it or says
// exactly what is wrong.
//   {"[PAD]": 0, "caf\u00e9": 7, "é": 9}  →  out "[PAD]caféé", entries (0, 5) (7, 4) (9, 1)
let scanEndAt: i32 = 0;
let scanMaxId: i32 = -1;
let scanIn: usize = 0;

/** Where the last `scanVocab` stopped, in UTF-16 units: just after the closing brace. */
export function scanEnd(): i32 {
  return scanEndAt;
}

/** The largest id the last `scanVocab` read. */
export function scanMaxIdSeen(): i32 {
  return scanMaxId;
}

// @ts-ignore: decorator
@inline function byteAt(k: i32): u32 {
  return <u32>load<u8>(scanIn + <usize>k);
}

// @ts-ignore: decorator
@inline function isJsonSpace(c: u32): bool {
  return c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09;
}

function hexDigit(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x61 + 10);
  if (c >= 0x41 && c <= 0x46) return <i32>(c - 0x41 + 10);
  return -1;
}

/**
 * Scans the object at the start of `bytes` (`len` bytes of UTF-8): token text to `out`
 * (UTF-16; room for 2 × len bytes), (id, length) pairs to `entries` (room for
 * `maxEntries`). Returns the entry count, or E_SCAN.
 */
export function scanVocab(
  bytes: usize,
  len: i32,
  out: usize,
  entries: usize,
  maxEntries: i32,
): i32 {
  scanIn = bytes;
  scanMaxId = -1;
  let i: i32 = 0;
  // UTF-16 units of the input minus its bytes so far: ASCII is one of each; a 2-byte
  // character is one unit, a 3-byte one unit, a 4-byte two (for scanEnd)
  let delta: i32 = 0;
  let o = out;
  let count: i32 = 0;
  if (len < 1 || byteAt(0) != 0x7B) return E_SCAN; // {
  i = 1;
  while (i < len && isJsonSpace(byteAt(i))) i++;
  if (i < len && byteAt(i) == 0x7D) { // }
    scanEndAt = i + 1;
    return 0;
  }
  while (true) {
    while (i < len && isJsonSpace(byteAt(i))) i++;
    if (i >= len || byteAt(i) != 0x22) return E_SCAN; // "
    i++;
    const start = o;
    while (true) {
      if (i >= len) return E_SCAN;
      let c = byteAt(i++);
      if (c == 0x22) break;
      if (c < 0x20) return E_SCAN;
      if (c == 0x5C) { // backslash: an escape, one UTF-16 unit out
        if (i >= len) return E_SCAN;
        const e = byteAt(i++);
        if (e == 0x75) { // u
          if (i + 4 > len) return E_SCAN;
          c = 0;
          for (let k = 0; k < 4; k++) {
            const d = hexDigit(byteAt(i++));
            if (d < 0) return E_SCAN;
            c = (c << 4) | <u32>d;
          }
        } else if (e == 0x22 || e == 0x5C || e == 0x2F) c = e;
        else if (e == 0x62) c = 0x08;
        else if (e == 0x66) c = 0x0C;
        else if (e == 0x6E) c = 0x0A;
        else if (e == 0x72) c = 0x0D;
        else if (e == 0x74) c = 0x09;
        else return E_SCAN;
      } else if (c >= 0x80) { // UTF-8 from encodeInto: well formed
        if (c >= 0xF0) {
          if (i + 3 > len) return E_SCAN;
          c = ((c & 0x07) << 18) | ((byteAt(i) & 0x3F) << 12) | ((byteAt(i + 1) & 0x3F) << 6) |
            (byteAt(i + 2) & 0x3F);
          i += 3;
          delta -= 2;
        } else if (c >= 0xE0) {
          if (i + 2 > len) return E_SCAN;
          c = ((c & 0x0F) << 12) | ((byteAt(i) & 0x3F) << 6) | (byteAt(i + 1) & 0x3F);
          i += 2;
          delta -= 2;
        } else {
          if (i + 1 > len) return E_SCAN;
          c = ((c & 0x1F) << 6) | (byteAt(i) & 0x3F);
          i += 1;
          delta -= 1;
        }
        if (c >= 0x10000) {
          c -= 0x10000;
          store<u16>(o, <u16>(0xD800 + (c >> 10)));
          o += 2;
          c = 0xDC00 + (c & 0x3FF);
        }
      }
      store<u16>(o, <u16>c);
      o += 2;
    }
    while (i < len && isJsonSpace(byteAt(i))) i++;
    if (i >= len || byteAt(i) != 0x3A) return E_SCAN; // :
    i++;
    while (i < len && isJsonSpace(byteAt(i))) i++;
    let id: i64 = 0;
    const digitsAt = i;
    while (i < len && byteAt(i) >= 0x30 && byteAt(i) <= 0x39) {
      id = id * 10 + <i64>(byteAt(i) - 0x30);
      if (id > 0x7FFFFFFF) return E_SCAN;
      i++;
    }
    if (i == digitsAt || (i - digitsAt > 1 && byteAt(digitsAt) == 0x30)) return E_SCAN;
    if (count >= maxEntries) return E_SCAN;
    store<i32>(entries + (<usize>count) * 8, <i32>id);
    store<i32>(entries + (<usize>count) * 8, <i32>((o - start) >> 1), 4);
    count++;
    if (<i32>id > scanMaxId) scanMaxId = <i32>id;
    while (i < len && isJsonSpace(byteAt(i))) i++;
    if (i >= len) return E_SCAN;
    const c = byteAt(i++);
    if (c == 0x7D) break; // }
    if (c != 0x2C) return E_SCAN; // ,
  }
  scanEndAt = i + delta;
  return count;
}
