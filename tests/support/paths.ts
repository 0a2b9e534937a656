/**
 * Paths of the shared data beside the repository (`../shared`), overridable with
 * `EMBEDGE_SHARED`. Tests skip what is absent instead of failing on a missing file.
 *
 * @example
 * ```ts
 * import { shared } from "./paths.ts";
 * console.log(shared("models/bert-base-uncased/vocab.txt"));
 * ```
 * @module
 */
const root = Deno.env.get("EMBEDGE_SHARED") ??
  new URL("../../../shared/", import.meta.url).pathname;

/** Absolute path of a file under shared/. */
export function shared(path: string): string {
  return `${root.replace(/\/$/, "")}/${path}`;
}

/** Whether a shared file exists. */
export function hasShared(path: string): boolean {
  try {
    Deno.statSync(shared(path));
    return true;
  } catch {
    return false;
  }
}
