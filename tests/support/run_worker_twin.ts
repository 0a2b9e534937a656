/**
 * Runs tests/support/worker_twin.ts (the Worker's fetch handler in Deno) on `modelDir` with
 * the Worker variables `vars` and the `requests` (`GET /info`, `POST /embed {json}`), with
 * an import map when given (the default build's: onnxruntime-web sent to
 * edge/ort_web_excluded.ts). Fails unless the twin exits 0; gives each request's answer
 * and what the twin printed (stdout, where the Worker's console lines go, and stderr).
 *
 * @example
 * ```ts
 * import { runWorkerTwin } from "./run_worker_twin.ts";
 * import { makeTestModel } from "./test_model.ts";
 * const model = await makeTestModel({ seed: 41, layers: 1 });
 * const { answers } = await runWorkerTwin(model.dir, { EMBEDGE_LOG: "off" }, ["GET /health"]);
 * console.log(answers[0].status); // 200
 * ```
 * @module
 */
import { assertEquals } from "./assert.ts";

const root = new URL("../../", import.meta.url).pathname;

/** One request's answer, as the twin prints it. */
export interface TwinAnswer {
  request: string;
  status: number;
  body: { error?: string | { message: string; type: string }; engine?: string };
}

/** The twin's answers and output (see the module comment). */
export async function runWorkerTwin(
  modelDir: string,
  vars: Record<string, string>,
  requests: string[],
  importMap?: string,
): Promise<{ answers: TwinAnswer[]; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(importMap ? ["--import-map", importMap] : []),
      `${root}tests/support/worker_twin.ts`,
      modelDir,
      JSON.stringify(vars),
      ...requests,
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout), err = new TextDecoder().decode(stderr);
  assertEquals(code, 0, err + out);
  const lines = out.trim().split("\n");
  return { answers: JSON.parse(lines[lines.length - 1]), stdout: out, stderr: err };
}
