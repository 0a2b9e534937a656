/**
 * Starts the Cloudflare Worker (`edge/worker.ts`) under `wrangler dev` (workerd, fully
 * local; wrangler itself runs on Deno) on 127.0.0.1 with a model directory as its static
 * assets or in its R2 bucket (wrangler's local R2 simulation, seeded through miniflare),
 * for the end-to-end tests and the load benchmark. The process runs in its own process
 * group so that `stop()` ends wrangler and workerd together.
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
import { Miniflare } from "miniflare";
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

/** Options of `startWranglerDev`: the model comes from `assetsDir` or `r2`. */
export interface WranglerDevOptions {
  /** The model directory served through the `ASSETS` binding. */
  assetsDir?: string;
  /** A model directory uploaded to the local R2 bucket bound as `MODEL_BUCKET`. */
  r2?: { dir: string; prefix: string };
  /** Worker variables (`EMBEDGE_MODEL_ID`, `EMBEDGE_CLASSIFIERS`, …). */
  vars?: Record<string, string>;
  /** Seconds to wait for `/health` (default 120). */
  timeoutSeconds?: number;
  /**
   * `default`: edge/worker.ts, the kernels only (onnxruntime-web left out, as in
   * edge/wrangler.jsonc); `ort`: edge/worker_ort.ts with onnxruntime-web (wrangler.ort.jsonc).
   */
  build?: WorkerBuild;
  /** Return once the Worker answers, even with its 503 for a model that did not load. */
  acceptLoadError?: boolean;
  /**
   * `false`: return as soon as wrangler is started, without asking `/health` (which would
   * load the model): the cold-start bench times the first request itself.
   */
  waitForHealth?: boolean;
  /** wrangler's `--log-level` (default `warn`). */
  logLevel?: "debug" | "info" | "log" | "warn" | "error";
}

/** The Worker builds: edge/wrangler.jsonc and edge/wrangler.ort.jsonc. */
export type WorkerBuild = "default" | "ort";

/**
 * The wrangler configuration of the Worker for a model directory (assets) or the local R2
 * bucket, with `vars`; also what `wrangler deploy --dry-run` bundles.
 */
export function wranglerConfig(
  options: Pick<WranglerDevOptions, "assetsDir" | "r2" | "build">,
  vars: Record<string, string>,
): Record<string, unknown> {
  const absolute = (p: string) => (p.startsWith("/") ? p : `${Deno.cwd()}/${p}`);
  const ort = options.build === "ort";
  return {
    name: "embedge-local",
    main: `${root}edge/${ort ? "worker_ort.ts" : "worker.ts"}`,
    compatibility_date: "2025-09-01",
    alias: workerAliases(ort ? "wrangler.ort.jsonc" : "wrangler.jsonc"),
    ...(options.assetsDir
      ? {
        assets: {
          directory: absolute(options.assetsDir),
          binding: "ASSETS",
          run_worker_first: true,
        },
      }
      : {}),
    ...(options.r2 ? { r2_buckets: [{ binding: "MODEL_BUCKET", bucket_name: R2_BUCKET }] } : {}),
    vars,
  };
}

/**
 * esbuild's module for each of the library's `npm:` specifiers: edge/wrangler.jsonc's
 * aliases with their paths made absolute (this config lives in a temp dir).
 */
export function workerAliases(config = "wrangler.jsonc"): Record<string, string> {
  const text = Deno.readTextFileSync(`${root}edge/${config}`);
  const aliases: Record<string, string> = {};
  for (const [, from, to] of text.matchAll(/^\s*"(npm:[^"]+)":\s*"(\.\.?\/[^"]+)"/gm)) {
    aliases[from] = new URL(to, `file://${root}edge/`).pathname;
  }
  return aliases;
}

/** Writes a wrangler config for the model and starts `wrangler dev`; resolves when `/health` answers. */
export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  const dir = await Deno.makeTempDir({ prefix: "embedge-worker-" });
  const vars = { ...options.vars };
  if (options.r2) {
    await seedLocalR2(`${dir}/state`, R2_BUCKET, options.r2.dir, options.r2.prefix);
    vars.EMBEDGE_MODEL_PREFIX = options.r2.prefix;
  }
  await Deno.writeTextFile(`${dir}/wrangler.jsonc`, JSON.stringify(wranglerConfig(options, vars)));
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
      options.logLevel ?? "warn",
      "--persist-to",
      `${dir}/state`,
    ],
    cwd: dir,
    env: { WRANGLER_SEND_METRICS: "false", CI: "1", NO_UPDATE_NOTIFIER: "1", HOME: dir },
    stdin: "null", // wrangler must not read (or hold) the caller's terminal
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // only the tail of wrangler's output is kept: under load it can print without end (a
  // bench run once grew it past the largest string V8 can make)
  let out = "", failedToStart = false;
  const KEEP = 256 * 1024;
  const drain = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
      if (chunk.includes("failed to start")) failedToStart = true;
      out = (out + chunk).slice(-KEEP);
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const stop = async () => {
    const kill = (signal: Deno.Signal) => {
      try {
        Deno.kill(-child.pid, signal); // wrangler and its workerd
      } catch { /* already gone */ }
    };
    kill("SIGTERM");
    // a stalled wrangler (its proxy spinning) ignores SIGTERM: SIGKILL after 10 s
    const timer = setTimeout(() => kill("SIGKILL"), 10_000);
    await child.status;
    clearTimeout(timer);
    await drained;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const url = `http://127.0.0.1:${port}`;
  if (options.waitForHealth === false) return { url, pgid: child.pid, stop, log: () => out };
  const deadline = Date.now() + (options.timeoutSeconds ?? 120) * 1000;
  while (Date.now() < deadline) {
    try {
      // a stalled wrangler accepts the connection and never answers: bound each try
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
      const body = await r.text();
      if (r.ok) return { url, pgid: child.pid, stop, log: () => out };
      if (r.status === 503 && body.includes("did not load")) { // the Worker's load error
        if (options.acceptLoadError) return { url, pgid: child.pid, stop, log: () => out };
        break;
      }
    } catch { /* starting */ }
    if (failedToStart) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not serve the Worker:\n${out.slice(-4000)}`);
}

const R2_BUCKET = "embedge-models";

/**
 * Uploads every file under `dir` to `bucket` as `prefix + relative path`, in the layout
 * `wrangler dev --persist-to persistDir` reads its local R2 from (`persistDir/v3/r2`).
 */
export async function seedLocalR2(
  persistDir: string,
  bucket: string,
  dir: string,
  prefix: string,
): Promise<number> {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 404 }); } }",
    r2Buckets: { BUCKET: bucket },
    defaultPersistRoot: `${persistDir}/v3`,
  });
  let n = 0;
  try {
    // (miniflare's declared type for the bucket is not the R2 API it returns)
    const r2 = await mf.getR2Bucket("BUCKET") as unknown as {
      put(key: string, value: Uint8Array): Promise<unknown>;
    };
    const walk = async (rel: string): Promise<void> => {
      for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
        const path = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory) await walk(path);
        else {
          await r2.put(prefix + path, await Deno.readFile(`${dir}/${path}`));
          n++;
        }
      }
    };
    await walk("");
  } finally {
    await mf.dispose();
  }
  return n;
}

/** The pids of a process group (wrangler + workerd), or of those named `command`. */
export function groupPids(pgid: number, command?: string): string[] {
  const pids: string[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue; // field 5: pgrp
      if (command && !stat.includes(`(${command})`)) continue; // field 2: (comm)
      pids.push(e.name);
    } catch { /* exited */ }
  }
  return pids;
}

/** Resident memory (MiB) of every process in a process group (wrangler + workerd), or of
 * those whose command name is `command` (e.g. `workerd`). */
export function groupRssMiB(pgid: number, command?: string): number {
  let kb = 0;
  for (const pid of groupPids(pgid, command)) {
    try {
      const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
      if (m) kb += Number(m[1]);
    } catch { /* exited */ }
  }
  return kb / 1024;
}
