/**
 * JSON Schema that carries its TypeScript type: the routes' request fields parse with it
 * and their answers are typed by it, and the OpenAPI document prints the same objects. So
 * the document cannot drift from what a route accepts and returns (TEI gets this from
 * utoipa deriving both from one Rust type; here one value gives the type, the check and
 * the schema).
 *
 * - `Schema<T>`: `json` is the JSON Schema of values of type `T` (responses).
 * - `Field<T>`: a request field: a schema whose `parse(value, name)` checks a request's
 *   value and returns it typed (the default when absent), or throws a 400 naming the field.
 *
 * @example
 * ```ts
 * import { array, flag, number, object, parseFields, string } from "./schema.ts";
 * const hit = object({ text: string(), score: number() });
 * const hits = array(hit); // Schema<{ text: string; score: number }[]>
 * console.log(JSON.stringify(hits.json.items));
 * // {"type":"object","properties":{"text":{"type":"string"},"score":{"type":"number"}},"required":["text","score"],"additionalProperties":false}
 * const body = parseFields({ normalize: true }, { normalize: flag(false), truncate: flag(true) });
 * console.log(body.normalize, body.truncate); // true true
 * try {
 *   parseFields({ normalize: "yes" }, { normalize: flag(false) });
 * } catch (e) {
 *   console.log((e as Error).message); // normalize must be true or false
 * }
 * ```
 * @module
 */
import { HttpError } from "./errors.ts";

/** A JSON Schema object. */
export type JsonSchema = Record<string, unknown>;

/** The JSON Schema of values of type `T`. */
export interface Schema<T> {
  readonly json: JsonSchema;
  /** Type carrier only (never set). */
  readonly type?: T;
}

/** A request field: its schema, and the check that turns a request's value into a `T`. */
export interface Field<T> extends Schema<T> {
  /** `value` is `undefined` when the request does not have the field. */
  parse(value: unknown, name: string): T;
  /** Whether a request must have it (listed as required in the document). */
  readonly required?: boolean;
}

/**
 * The type a schema describes; a field's is what its parse returns (inferred from the
 * optional `type?: T` alone, `string | undefined` would lose its `undefined`).
 */
export type Infer<S> = S extends Field<infer T> ? T : S extends Schema<infer T> ? T : never;

/** A 400 naming the field. */
export function invalid(message: string, field: string): HttpError {
  return new HttpError(400, message, "invalid_request_error", field);
}

/**
 * A 400 naming the field for an empty input (TEI answers an empty input with its own type,
 * `Empty`, and a 400, where other bad fields are a 422).
 */
export function empty(message: string, field: string): HttpError {
  return new HttpError(400, message, "invalid_request_error", field, {}, "Empty");
}

/** A schema with no check (for responses, or fields checked by hand). */
export function schema<T>(json: JsonSchema): Schema<T> {
  return { json };
}

export const string = (extra: JsonSchema = {}) => schema<string>({ type: "string", ...extra });
export const number = (extra: JsonSchema = {}) => schema<number>({ type: "number", ...extra });
export const integer = (extra: JsonSchema = {}) => schema<number>({ type: "integer", ...extra });
export const boolean = () => schema<boolean>({ type: "boolean" });

/** One of the given strings. */
export function literal<const T extends string>(values: readonly T[]): Schema<T> {
  return schema<T>({ type: "string", enum: [...values] });
}

/** `T` or null. */
export function nullable<T>(s: Schema<T>): Schema<T | null> {
  const type = s.json.type;
  return schema<T | null>(
    typeof type === "string"
      ? { ...s.json, type: [type, "null"] }
      : { oneOf: [s.json, { type: "null" }] },
  );
}

/** An array of `T`. */
export function array<T>(items: Schema<T>, extra: JsonSchema = {}): Schema<T[]> {
  return schema<T[]>({ type: "array", items: items.json, ...extra });
}

type Shape = Record<string, Schema<unknown>>;
type Optional<S extends Shape> = { [K in keyof S]: undefined extends Infer<S[K]> ? K : never }[
  keyof S
];
/** An object of the given properties (those whose type admits `undefined` are optional). */
export type ObjectOf<S extends Shape> =
  & { [K in Exclude<keyof S, Optional<S>>]: Infer<S[K]> }
  & { [K in Optional<S>]?: Infer<S[K]> };

/** An object with exactly these properties; `optional` names those that may be absent. */
export function object<S extends Shape>(
  shape: S,
  optional: (keyof S)[] = [],
): Schema<ObjectOf<S>> {
  return schema<ObjectOf<S>>({
    type: "object",
    properties: Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, v.json])),
    required: Object.keys(shape).filter((k) => !optional.includes(k)),
    additionalProperties: false,
  });
}

/** Either of two schemas. */
export function either<A, B>(a: Schema<A>, b: Schema<B>): Schema<A | B> {
  return schema<A | B>({ oneOf: [a.json, b.json] });
}

/** A field from its schema and its check. */
export function field<T>(json: JsonSchema, parse: (value: unknown, name: string) => T): Field<T> {
  return { json, parse };
}

/** `true` or `false`, `fallback` when absent. */
export function flag(fallback: boolean): Field<boolean> {
  return field({ type: "boolean", default: fallback }, (v, name) => {
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "boolean") throw invalid(`${name} must be true or false`, name);
    return v;
  });
}

/** One of `values` (`fallback` when absent; required when there is none). */
export function choice<const T extends string>(values: readonly T[], fallback: T): Field<T>;
export function choice<const T extends string>(values: readonly T[]): Field<T | undefined>;
export function choice<const T extends string>(values: readonly T[], fallback?: T) {
  return field<T | undefined>(
    { type: "string", enum: [...values], ...(fallback === undefined ? {} : { default: fallback }) },
    (v, name) => {
      if (v === undefined || v === null) return fallback;
      if (typeof v !== "string" || !values.includes(v as T)) {
        throw invalid(`${name} must be one of ${values.join(", ")}`, name);
      }
      return v as T;
    },
  );
}

/** An integer in `min..max`, `undefined` when absent. */
export function integerIn(min: number, max = Number.MAX_SAFE_INTEGER): Field<number | undefined> {
  return field(
    { type: "integer", minimum: min, ...(max < Number.MAX_SAFE_INTEGER ? { maximum: max } : {}) },
    (v, name) => {
      if (v === undefined || v === null) return undefined;
      if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
        throw invalid(
          `${name} must be an integer in ${min}..${max < Number.MAX_SAFE_INTEGER ? max : ""}`,
          name,
        );
      }
      return v as number;
    },
  );
}

/** A field that must be present: `undefined` from `inner` becomes "`name` is required". */
export function required<T>(inner: Field<T | undefined>): Field<T> {
  return {
    json: inner.json,
    required: true,
    parse(v, name) {
      const out = v === undefined ? undefined : inner.parse(v, name);
      if (out === undefined) throw invalid(`${name} is required`, name);
      return out;
    },
  };
}

/** A request body's fields. */
export type Fields = Record<string, Field<unknown>>;
/** The parsed body of a request with these fields. */
export type Parsed<F extends Fields> = { [K in keyof F]: Infer<F[K]> };

/**
 * Parses each field of `body`. A field the route does not declare is a 400 naming it: a
 * misspelt option (`normalise`, `poolling`) answered with the defaults would look like it
 * worked. The message lists the route's fields and, when one is a likely misspelling
 * (edit distance at most 2), suggests it.
 */
export function parseFields<F extends Fields>(body: Record<string, unknown>, fields: F): Parsed<F> {
  for (const name of Object.keys(body)) {
    if (!Object.hasOwn(fields, name)) throw unknownField(name, Object.keys(fields));
  }
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(fields)) out[name] = f.parse(body[name], name);
  return out as Parsed<F>;
}

/** "`name` is not a field here" with the known ones (and the nearest, when close). */
function unknownField(name: string, known: string[]): HttpError {
  const nearest = known
    .map((k) => ({ k, d: editDistance(name.toLowerCase(), k.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0];
  const hint = nearest && nearest.d <= 2 ? ` (did you mean ${nearest.k}?)` : "";
  // long names are cut: the message repeats what the client sent
  const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
  return invalid(
    `${shown} is not a field of this route${hint}; its fields are ${known.join(", ")}`,
    shown,
  );
}

/** Levenshtein distance (names are short: the quadratic table costs nothing). */
function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Math.max(a.length, b.length);
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/** The JSON Schema of a request body with these fields (`required` from `required()`). */
export function bodySchema(fields: Fields): JsonSchema {
  const names = Object.keys(fields).filter((k) => fields[k].required);
  return {
    type: "object",
    properties: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.json])),
    ...(names.length ? { required: names } : {}),
    additionalProperties: false, // parseFields refuses any other field by name
  };
}
