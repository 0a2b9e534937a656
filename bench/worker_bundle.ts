/**
 * What `wrangler deploy` would upload for a Worker build (`--dry-run --outdir`): every file
 * of the bundle with its size raw and gzipped (level 9), source maps and wrangler's README
 * left out. The model is not in it (assets or R2). Used by bench/worker_cold_start.ts and
 * bench/worker_memory.ts.
 *
 * @example
 * ```ts
 * import { workerBundle } from "./worker_bundle.ts";
 * const assets = await Deno.makeTempDir(); // the model is not bundled: any directory will do
 * const b = await workerBundle(assets, "default");
 * console.log(b.gzipBytes < 300_000); // true
 * await Deno.remove(assets);
 * ```
 * @module
 */
import { gzipSync } from "node:zlib";
import { type WorkerBuild, WRANGLER, wranglerConfig } from "../tests/support/wrangler_dev.ts";

/** One file of the bundle. */
export interface BundleFile {
  file: string;
  bytes: number;
  gzipBytes: number;
}

/** The bundle of `build` for a Worker serving `assetsDir`: its files and their totals. */
export async function workerBundle(
  assetsDir: string,
  build: WorkerBuild,
): Promise<{ files: BundleFile[]; bytes: number; gzipBytes: number }> {
  const outdir = await Deno.makeTempDir({ prefix: "embedge-bundle-" });
  const configDir = await Deno.makeTempDir({ prefix: "embedge-bundle-config-" });
  try {
    await Deno.writeTextFile(
      `${configDir}/wrangler.jsonc`,
      JSON.stringify(wranglerConfig({ assetsDir, build }, {})),
    );
    const dry = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        WRANGLER,
        "deploy",
        "--dry-run",
        "--outdir",
        outdir,
        "-c",
        `${configDir}/wrangler.jsonc`,
      ],
      env: { WRANGLER_SEND_METRICS: "false", CI: "1", HOME: configDir },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (dry.code !== 0) throw new Error(new TextDecoder().decode(dry.stderr).slice(-2000));
    const files: BundleFile[] = [];
    const walk = (dir: string, rel = "") => {
      for (const e of Deno.readDirSync(dir)) {
        const path = `${dir}/${e.name}`;
        if (e.isDirectory) walk(path, `${rel}${e.name}/`);
        else if (!e.name.endsWith(".map") && e.name !== "README.md") {
          const bytes = Deno.readFileSync(path);
          files.push({
            file: rel + e.name,
            bytes: bytes.length,
            gzipBytes: gzipSync(bytes, { level: 9 }).length,
          });
        }
      }
    };
    walk(outdir);
    return {
      files,
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      gzipBytes: files.reduce((n, f) => n + f.gzipBytes, 0),
    };
  } finally {
    await Deno.remove(outdir, { recursive: true });
    await Deno.remove(configDir, { recursive: true });
  }
}
