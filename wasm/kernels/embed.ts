// The embedding sums for the BERT kernels (bert.ts): word + position + token type, with a
// float or an int8 word table.

/**
 * out [B·S, H] = word[ids] + position[s] + type[types] (ids, types i32 [B, S]; `type` 0:
 * no token-type table). Positions count from 0 in each row.
 */
export function embed(
  ids: usize, types: usize, word: usize, position: usize, type: usize, out: usize,
  B: i32, S: i32, H: i32,
): void {
  const row = <usize>H << 2;
  for (let t = 0; t < B * S; t++) {
    const w = word + <usize>load<i32>(ids + (<usize>t << 2)) * row;
    const p = position + <usize>(t % S) * row;
    const o = out + <usize>t * row;
    if (type) {
      const y = type + <usize>load<i32>(types + (<usize>t << 2)) * row;
      for (let i: usize = 0; i < row; i += 16) {
        v128.store(o + i, f32x4.add(f32x4.add(v128.load(w + i), v128.load(p + i)), v128.load(y + i)));
      }
    } else {
      for (let i: usize = 0; i < row; i += 16) {
        v128.store(o + i, f32x4.add(v128.load(w + i), v128.load(p + i)));
      }
    }
  }
}

/**
 * `embed` with an int8 word table (one scale per row, quantize.ts): each word row read back
 * as float(q) · scale (onnxruntime's Cast then Mul), then added as `embed` adds.
 */
export function embedInt8(
  ids: usize, types: usize, word: usize, wordScales: usize, position: usize, type: usize,
  out: usize, B: i32, S: i32, H: i32,
): void {
  const row = <usize>H << 2;
  for (let t = 0; t < B * S; t++) {
    const id = <usize>load<i32>(ids + (<usize>t << 2));
    const w = word + id * <usize>H, scale = v128.load32_splat(wordScales + (id << 2));
    const p = position + <usize>(t % S) * row;
    const y = type + <usize>load<i32>(types + (<usize>t << 2)) * row;
    const o = out + <usize>t * row;
    for (let i: usize = 0; i < row; i += 16) {
      // four int8 → i16 → i32 → float
      const q = i32x4.extend_low_i16x8_s(v128.load8x8_s(w + (i >> 2)));
      let v = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(q), scale), v128.load(p + i));
      if (type) v = f32x4.add(v, v128.load(y + i));
      v128.store(o + i, v);
    }
  }
}
