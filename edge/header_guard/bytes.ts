/**
 * Byte helpers of the header guard: line ends, the head's text decoding, joining reads,
 * writing all of a buffer, closing a connection that may be closed already.
 *
 * @module
 */

/** Carriage return and line feed, the bytes that end a line. */
export const CR = 13, LF = 10;
/** Heads are read as latin1: one character per byte, whatever the bytes. */
export const latin1 = new TextDecoder("latin1");

/** `a` then `b`, in a new buffer (a head split across reads). */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Writes the whole of `data` (a write may take only part of it). */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
}

/** Closes `conn`, which the other side may have closed already. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
