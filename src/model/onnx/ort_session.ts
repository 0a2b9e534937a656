/**
 * The part of onnxruntime's session API (common to onnxruntime-node and onnxruntime-web)
 * that embedge uses: the shape every session has, whether onnxruntime runs it
 * (engine/runtimes.ts) or embedge's own kernels do (kernels/kernel_session.ts). It lives
 * here, below both, so that the kernels need not import the engine that chooses them
 * (tests/layering_test.ts).
 *
 * @example
 * ```ts
 * import type { OrtSession } from "./ort_session.ts";
 * const empty: OrtSession = {
 *   inputNames: [],
 *   outputNames: [],
 *   run: () => Promise.resolve({}),
 *   release: () => Promise.resolve(),
 * };
 * console.log(empty.inputNames.length); // 0
 * ```
 * @module
 */

/** The part of onnxruntime's API (common to both builds) that embedge uses. */
export interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(
    feeds: Record<string, unknown>,
    fetches: string[],
  ): Promise<Record<string, { data: unknown; dims: readonly number[]; type: string }>>;
  release(): Promise<void>;
}
