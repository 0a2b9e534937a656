/**
 * Paths of the shared data beside the repository (`../shared`), overridable with
 * `EMBEDGE_SHARED`. Locally, tests skip what is absent; under `CI=true` (where `../shared`
 * is always laid beside the checkout) a missing file fails the run instead, so a green CI
 * never hides tests that did not run.
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

/** Whether a shared file exists; under `CI=true` a missing one throws. */
export function hasShared(path: string): boolean {
  try {
    Deno.statSync(shared(path));
    return true;
  } catch {
    if (Deno.env.get("CI") === "true") {
      throw new Error(`CI=true but the shared file ${shared(path)} is missing`);
    }
    return false;
  }
}

const made: string[] = [];
let hooked = false;

/**
 * A new temporary directory that is removed when the test module exits (tests write
 * generated models of up to 87 MiB; a run must not leave them behind).
 */
export async function tempDir(prefix = "embedge-test-"): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  made.push(dir);
  if (!hooked) {
    hooked = true;
    globalThis.addEventListener("unload", () => {
      for (const d of made) {
        try {
          Deno.removeSync(d, { recursive: true });
        } catch { /* already gone */ }
      }
    });
  }
  return dir;
}

/** Whether a path exists (file or directory). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
