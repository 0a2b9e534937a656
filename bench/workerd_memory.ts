/**
 * One measurement of the Worker under `wrangler dev` for bench/worker_memory.ts: workerd's
 * resident memory (runtime, compiled wasm and the isolate: an upper bound of what the
 * 128 MB isolate limit counts), sampled every 50 ms while it serves 24 requests of 8
 * sentences and one of 32 long inputs, the request latencies, its open files (workerd has
 * been seen to run out of them) and the engine `/info` names. A start that fails is
 * recorded, not thrown: wrangler dev has stalled under the fp32 model before.
 *
 * @example
 * ```ts ignore
 * import { workerdMemory } from "./workerd_memory.ts";
 * const run = await workerdMemory({
 *   assetsDir: ".cache/worker-assets",
 *   vars: { EMBEDGE_LOG: "off" },
 *   sentences: ["I love Paris."],
 *   long: [],
 * });
 * console.log(run.peak, run.engine);
 * ```
 * @module
 */
import {
  groupPids,
  groupRssMiB,
  startWranglerDev,
  type WorkerBuild,
} from "../tests/support/wrangler_dev.ts";

/** What one `wrangler dev` run measured. */
export interface WorkerdRun {
  /** workerd's RSS once the model is loaded, MiB. */
  afterLoad: number;
  /** Its highest sampled RSS, MiB. */
  peak: number;
  /** Each 8-sentence request, ms. */
  ms: number[];
  /** The request of 32 long inputs, ms. */
  longMs: number;
  /** workerd's open file descriptors at the end. */
  fds: number;
  onnxFile?: string;
  engine?: string;
  error?: string;
}

/** Open file descriptors of the workerd processes in a process group. */
function workerdFds(pgid: number): number {
  let n = 0;
  for (const pid of groupPids(pgid, "workerd")) {
    try {
      n += [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
    } catch { /* exited */ }
  }
  return n;
}

/** Starts the Worker on `assetsDir`, serves the requests, measures, stops it. */
export async function workerdMemory(options: {
  assetsDir: string;
  vars: Record<string, string>;
  /** At least 192: 24 requests of 8. */
  sentences: string[];
  long: string[];
  build?: WorkerBuild;
}): Promise<WorkerdRun> {
  let worker;
  try {
    worker = await startWranglerDev({
      assetsDir: options.assetsDir,
      vars: options.vars,
      build: options.build ?? "default",
      timeoutSeconds: 300,
    });
  } catch (e) {
    const log = (e as Error).message;
    const error = `wrangler dev did not serve the Worker within 300 s${
      log.includes("Too many open files") ? " (workerd: Too many open files)" : ""
    }`;
    return { afterLoad: NaN, peak: NaN, ms: [], longMs: NaN, fds: NaN, error };
  }
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, groupRssMiB(worker.pgid, "workerd"));
  }, 50);
  const run: WorkerdRun = {
    afterLoad: groupRssMiB(worker.pgid, "workerd"),
    peak: 0,
    ms: [],
    longMs: NaN,
    fds: 0,
  };
  try {
    const post = async (inputs: string[]) => {
      const t0 = performance.now();
      const r = await fetch(`${worker.url}/embed`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs, truncate: true }),
        signal: AbortSignal.timeout(180_000),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`/embed answered ${r.status} ${text.slice(0, 160)}`);
      return performance.now() - t0;
    };
    const { sentences } = options;
    for (let i = 0; i < 24; i++) run.ms.push(await post(sentences.slice(i * 8, i * 8 + 8)));
    run.longMs = await post(options.long);
    const info = await (await fetch(`${worker.url}/info`, { signal: AbortSignal.timeout(30_000) }))
      .json();
    run.onnxFile = info.onnx_file;
    run.engine = info.engine;
  } catch (e) {
    run.error = `${(e as Error).message} (workerd had ${workerdFds(worker.pgid)} open files)`;
  } finally {
    clearInterval(sampler);
    run.peak = Math.max(peak, groupRssMiB(worker.pgid, "workerd"));
    run.fds = workerdFds(worker.pgid);
    await worker.stop();
  }
  return run;
}
