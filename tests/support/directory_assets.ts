/**
 * A Workers `ASSETS`-like binding that serves the files of a local directory (404 for a
 * missing one), for running the Worker's fetch handler in Deno (tests/support/worker_twin.ts,
 * bench/cpu_per_request.ts) on a model prepared by bin/worker_assets.ts.
 *
 * @example
 * ```ts
 * import { directoryAssets } from "./directory_assets.ts";
 * const assets = directoryAssets("../shared/models/embedge-mini-mlm");
 * console.log((await assets.fetch("http://assets.local/config.json")).status); // 200
 * console.log((await assets.fetch("http://assets.local/missing.txt")).status); // 404
 * ```
 * @module
 */

/** The binding over `dir` (a request's path, from its first `/`, is appended to it). */
export function directoryAssets(
  dir: string,
): { fetch(request: Request | string): Promise<Response> } {
  return {
    async fetch(request: Request | string) {
      const path = new URL(typeof request === "string" ? request : request.url).pathname;
      try {
        return new Response(await Deno.readFile(dir + path));
      } catch {
        return new Response(null, { status: 404 });
      }
    },
  };
}
