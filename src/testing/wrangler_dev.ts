/**
 * Starts the Cloudflare Worker (`edge/worker.ts`) under `wrangler dev` (workerd, fully
 * local; wrangler itself runs on Deno) on 127.0.0.1 with a model directory as its static
 * assets, for the end-to-end test and the load benchmark. The process runs in its own
 * process group so that `stop()` ends wrangler and workerd together.
 *
 * @example
 * ```ts
 * import { startWranglerDev } from "./wrangler_dev.ts";
 * const worker = await startWranglerDev({ assetsDir: ".cache/demo-model", vars: { EMBEDGE_LOG: "off" } });
 * console.log(await (await fetch(`${worker.url}/health`)).json()); // { status: "ok" }
 * await worker.stop();
 * ```
 * @module
 */
import { freePort } from "./local_server.ts";

const root = new URL("../../", import.meta.url).pathname;

/** wrangler's CLI inside node_modules (absent when not installed). */
export const WRANGLER = `${root}node_modules/wrangler/bin/wrangler.js`;

/** A running `wrangler dev`. */
export interface WranglerDev {
  url: string;
  /** Process group id (wrangler's pid): the group holds workerd too. */
  pgid: number;
  /** Everything wrangler printed so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Options of `startWranglerDev`. */
export interface WranglerDevOptions {
  /** The model directory served through the `ASSETS` binding. */
  assetsDir: string;
  /** Worker variables (`EMBEDGE_MODEL_ID`, `EMBEDGE_CLASSIFIERS`, …). */
  vars?: Record<string, string>;
  /** Seconds to wait for `/health` (default 120). */
  timeoutSeconds?: number;
}

/** Writes a wrangler config for the model and starts `wrangler dev`; resolves when `/health` answers. */
export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  const dir = await Deno.makeTempDir({ prefix: "embedge-worker-" });
  await Deno.writeTextFile(
    `${dir}/wrangler.jsonc`,
    JSON.stringify({
      name: "embedge-local",
      main: `${root}edge/worker.ts`,
      compatibility_date: "2025-09-01",
      alias: {
        "onnxruntime-web": `${root}node_modules/onnxruntime-web/dist/ort.wasm.bundle.min.mjs`,
      },
      assets: {
        directory: options.assetsDir.startsWith("/")
          ? options.assetsDir
          : `${Deno.cwd()}/${options.assetsDir}`,
        binding: "ASSETS",
        run_worker_first: true,
      },
      vars: options.vars ?? {},
    }),
  );
  const port = freePort();
  const child = new Deno.Command("setsid", {
    args: [
      Deno.execPath(),
      "run",
      "-A",
      WRANGLER,
      "dev",
      "-c",
      `${dir}/wrangler.jsonc`,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--log-level",
      "warn",
    ],
    cwd: dir,
    env: { WRANGLER_SEND_METRICS: "false", CI: "1", NO_UPDATE_NOTIFIER: "1", HOME: dir },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out: string[] = [];
  const drain = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) out.push(chunk);
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const stop = async () => {
    try {
      Deno.kill(-child.pid, "SIGTERM"); // wrangler and its workerd
    } catch { /* already gone */ }
    await child.status;
    await drained;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutSeconds ?? 120) * 1000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/health`);
      const body = await r.text();
      if (r.ok) return { url, pgid: child.pid, stop, log: () => out.join("") };
      if (r.status === 503 && body.includes("did not load")) break; // the Worker's load error
    } catch { /* starting */ }
    if (out.join("").includes("failed to start")) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not serve the Worker:\n${out.join("").slice(-4000)}`);
}

/** Resident memory (MiB) of every process in a process group (wrangler + workerd). */
export function groupRssMiB(pgid: number): number {
  let kb = 0;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue; // field 5: pgrp
      const m = Deno.readTextFileSync(`/proc/${e.name}/status`).match(/VmRSS:\s+(\d+) kB/);
      if (m) kb += Number(m[1]);
    } catch { /* exited */ }
  }
  return kb / 1024;
}
