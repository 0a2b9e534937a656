/**
 * Admission, before the model runs: each text of a request is tokenized here, once, by
 * itself (the model runs on these encodings; nothing downstream tokenizes again), an input
 * over the length limit with `truncate` off is a 413 naming its field, and an answer
 * larger than the output budget (`maxOutputFloats`) is a 413 naming the inputs.
 *
 * @module
 */
import {
  type Embedder,
  type EmbedInput,
  type EmbedOptions,
  EncodedText,
} from "../src/model/embedder.ts";
import { HttpError } from "./errors.ts";
import { cutLeft, idsEncoding, type TruncationDirection } from "./truncation.ts";

/**
 * The inputs as the model takes them. Token-id inputs are measured with their `[CLS]` and
 * `[SEP]`; `maxLength` is the model's unless a classifier head says otherwise. With
 * `truncate`, a long input is cut at its end (`Right`) or its start (`Left`: the text is
 * tokenized whole, then cut, truncation.ts); token ids are cut here either way.
 *
 * The prompt (`promptName`, checked by the caller, else the model's default) goes before
 * each text; token ids with a prompt are decoded, prompted and tokenized again, as TEI
 * does (the library's embed calls give token ids no prompt).
 */
export function admit(
  embedder: Embedder,
  list: (string | number[])[],
  truncate: boolean,
  field: string,
  maxLength = embedder.info.maxLength,
  direction: TruncationDirection = "Right",
  promptName?: string,
): EmbedInput[] {
  const left = truncate && direction === "Left";
  const prompt = embedder.promptText({ promptName }, "prompt_name");
  // ids that are all special tokens decode to nothing: a space tokenizes to nothing as
  // well, where encode refuses an empty text
  const decode = (ids: number[]) =>
    embedder.tokenizer.decode(ids, { skipSpecialTokens: true }) || " ";
  return list.map((input, i) => {
    let n: number, admitted: EmbedInput;
    const x = prompt !== "" && typeof input !== "string" ? decode(input) : input;
    if (typeof x === "string") {
      // untruncated when truncate is off, so that the error can say how long it is, and
      // when cutting on the left, which happens after
      const encoded = embedder.encode(x, {
        truncate: truncate && !left,
        maxLength: truncate && !left ? maxLength : Number.MAX_SAFE_INTEGER,
        prompt,
      }, `${field}[${i}]`);
      admitted = left
        ? new EncodedText(encoded.text, cutLeft(encoded.encoding, maxLength))
        : encoded;
      n = encoded.encoding.ids.length;
    } else {
      n = x.length + 2;
      const room = Math.max(0, maxLength - 2);
      admitted = truncate && x.length > room
        ? (left ? x.slice(x.length - room) : x.slice(0, room))
        : x;
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

/** Admitted inputs as encodings (token ids wrapped in `[CLS] … [SEP]`), for the token routes. */
export function encodings(embedder: Embedder, list: EmbedInput[]): EncodedText[] {
  return list.map((x) =>
    x instanceof EncodedText
      ? x
      : typeof x === "string"
      ? embedder.encode(x)
      : new EncodedText("", idsEncoding(embedder.tokenizer, x))
  );
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
    (n, x) =>
      n + (x instanceof EncodedText ? x.encoding.ids.length : Array.isArray(x) ? x.length + 2 : 0),
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
