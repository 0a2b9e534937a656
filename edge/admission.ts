/**
 * Admission, before the model runs: each text of a request is tokenized here, once, by
 * itself (the model runs on these encodings; nothing downstream tokenizes again), an input
 * over the length limit with `truncate` off is a 413 naming its field, and an answer
 * larger than the output budget (`maxOutputFloats`) is a 413 naming the inputs.
 *
 * @module
 */
import type { Embedder, EmbedInput, EmbedOptions } from "../src/model/embedder.ts";
import { HttpError } from "./errors.ts";

/**
 * The inputs as the model takes them. Token-id inputs are measured with their `[CLS]` and
 * `[SEP]`; `maxLength` is the model's unless a classifier head says otherwise.
 */
export function admit(
  embedder: Embedder,
  list: (string | number[])[],
  truncate: boolean,
  field: string,
  maxLength = embedder.info.maxLength,
): EmbedInput[] {
  return list.map((x, i) => {
    let n: number, admitted: EmbedInput;
    if (typeof x === "string") {
      // untruncated when truncate is off, so that the error can say how long it is
      const encoded = embedder.encode(x, {
        truncate,
        maxLength: truncate ? maxLength : Number.MAX_SAFE_INTEGER,
      }, `${field}[${i}]`);
      n = encoded.encoding.ids.length;
      admitted = encoded;
    } else {
      n = x.length + 2;
      admitted = x;
    }
    if (!truncate && n > maxLength) {
      throw new HttpError(
        413,
        `${field}[${i}] has ${n} tokens; the limit is ${maxLength} (set truncate to true to cut it)`,
        "invalid_request_error",
        `${field}[${i}]`,
      );
    }
    return admitted;
  });
}

/**
 * The answer-size budget, checked before the work: a 413 naming `field` when an answer
 * would hold more than `max` numbers. `what` says what the answer would hold, so the
 * client knows what to send less of.
 */
export function checkOutputSize(numbers: number, max: number, what: string, field: string): void {
  if (numbers > max) {
    throw new HttpError(
      413,
      `the answer would hold ${what} (${numbers} numbers); this server returns at most ${max} per request: send fewer or shorter inputs`,
      "invalid_request_error",
      field,
    );
  }
}

/**
 * The budget of the token routes: every admitted input's tokens times the vector width
 * (word vectors are at most as many as tokens).
 */
export function checkTokenVectors(
  embedder: Embedder,
  list: EmbedInput[],
  opts: EmbedOptions,
  max: number,
): void {
  const width = embedder.dimensions("cls", opts); // one token's vector
  const tokens = list.reduce(
    (n, x) => n + (typeof x === "object" && "encoding" in x ? x.encoding.ids.length : 0),
    0,
  );
  checkOutputSize(tokens * width, max, `${tokens} token vectors of ${width} numbers`, "inputs");
}

/**
 * What one token of a `/tokenize` answer counts against the budget: its JSON
 * (`{"id":2293,"text":"love","special":false,"start":2,"stop":6,"attention_mask":1}`, about
 * 80 bytes) is about as long as 8 numbers of a vector (about 10 bytes each).
 */
export const TOKEN_NUMBERS = 8;
