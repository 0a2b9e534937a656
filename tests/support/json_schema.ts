/**
 * A small JSON Schema checker for the subset the API documents use (type, enum,
 * properties, required, additionalProperties: false or the schema of a map's values, items,
 * oneOf, minItems/maxItems, minimum/maximum, minLength/maxLength): the answers of every
 * route are checked against the document's own schemas and TEI's (tei_schemas.ts). Written here (no validator package is a dependency).
 *
 * @example
 * ```ts
 * import { violations } from "./json_schema.ts";
 * const schema = { type: "array", items: { type: "integer", minimum: 0 } };
 * console.log(violations([1, 2], schema)); // []
 * console.log(violations([1, -2.5], schema)); // [ "$[1]: -2.5 is not of type integer", "$[1]: -2.5 < minimum 0" ]
 * ```
 * @module
 */
type Schema = Record<string, unknown>;

function typeOf(v: unknown): string[] {
  if (v === null) return ["null"];
  if (Array.isArray(v)) return ["array"];
  if (typeof v === "number") return Number.isInteger(v) ? ["integer", "number"] : ["number"];
  return [typeof v];
}

/** Where `value` breaks `schema` (empty when it conforms). */
export function violations(value: unknown, schema: Schema, at = "$"): string[] {
  const out: string[] = [];
  const shown = () => JSON.stringify(value)?.slice(0, 60);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!typeOf(value).some((t) => types.includes(t))) {
      out.push(`${at}: ${shown()} is not of type ${types.join("|")}`);
    }
  }
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) {
    out.push(`${at}: ${shown()} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (schema.oneOf) {
    const matching = (schema.oneOf as Schema[]).filter((s) =>
      violations(value, s, at).length === 0
    );
    if (matching.length !== 1) {
      out.push(`${at}: ${shown()} matches ${matching.length} of the oneOf schemas, not one`);
    }
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) {
      out.push(`${at}: ${value} < minimum ${schema.minimum}`);
    }
    if (typeof schema.maximum === "number" && value > schema.maximum) {
      out.push(`${at}: ${value} > maximum ${schema.maximum}`);
    }
  }
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && value.length < schema.minLength) {
      out.push(`${at}: shorter than ${schema.minLength}`);
    }
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength) {
      out.push(`${at}: longer than ${schema.maxLength}`);
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === "number" && value.length < schema.minItems) {
      out.push(`${at}: fewer than ${schema.minItems} items`);
    }
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) {
      out.push(`${at}: more than ${schema.maxItems} items`);
    }
    if (schema.items) {
      value.forEach((v, i) => out.push(...violations(v, schema.items as Schema, `${at}[${i}]`)));
    }
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    const record = value as Record<string, unknown>;
    for (const name of (schema.required ?? []) as string[]) {
      if (!(name in record)) out.push(`${at}: lacks ${name}`);
    }
    for (const [name, v] of Object.entries(record)) {
      const extra = schema.additionalProperties;
      if (props[name]) out.push(...violations(v, props[name], `${at}.${name}`));
      else if (extra === false) out.push(`${at}: has undeclared ${name}`);
      // a map's values (TEI's id2label): every undeclared property checked by one schema
      else if (typeof extra === "object" && extra !== null) {
        out.push(...violations(v, extra as Schema, `${at}.${name}`));
      }
    }
  }
  return out;
}
