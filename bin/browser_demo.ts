/**
 * `browser`: builds the browser bundle (bin/build_browser.ts) and serves the example page
 * (`examples/browser/`) with a model directory, so a browser runs embedge with nothing
 * installed:
 *
 * ```
 * /            examples/browser/ (index.html, main.js)
 * /embedge/    the bundle and its wasm files (dist/browser/)
 * /model/      the model directory (Hub layout: config.json, tokenizer.json, onnx/model.onnx, …)
 * ```
 *
 * Static files only, read-only, on 127.0.0.1 unless `--host` says otherwise.
 *
 * @example
 * ```sh
 * npx deno task browser                                  # http://127.0.0.1:8000/
 * npx deno task browser --model ../shared/models/embedge-mini-mlm --port 9000
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { runCli, UsageError } from "./run_cli.ts";
import { buildBrowser } from "./build_browser.ts";

const root = new URL("../", import.meta.url).pathname;
const DEFAULT_MODEL = `${root}../shared/models/embedge-mini-simcse`;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".txt": "text/plain; charset=utf-8",
};

/** The file a request path names under one of the served folders, or undefined. */
function fileOf(pathname: string, folders: Record<string, string>): string | undefined {
  for (const [prefix, folder] of Object.entries(folders)) {
    if (!pathname.startsWith(prefix)) continue;
    const rest = decodeURIComponent(pathname.slice(prefix.length)) || "index.html";
    // no way out of the folder: no "..", no absolute parts
    if (rest.split("/").some((part) => part === ".." || part === "")) return undefined;
    return `${folder}/${rest}`;
  }
  return undefined;
}

/** Serves the page, the bundle in `bundle` and the model in `model`; returns the server. */
export function serveBrowserDemo(
  options: { bundle: string; model: string; port?: number; hostname?: string },
): Deno.HttpServer<Deno.NetAddr> {
  const folders = {
    "/embedge/": options.bundle,
    "/model/": options.model,
    "/": `${root}examples/browser`,
  };
  return Deno.serve({
    port: options.port ?? 8000,
    hostname: options.hostname ?? "127.0.0.1",
    onListen: () => {},
  }, async (request) => {
    const file = fileOf(new URL(request.url).pathname, folders);
    if (!file || request.method !== "GET") return new Response("not found", { status: 404 });
    try {
      const body = await Deno.open(file);
      const type = TYPES[file.slice(file.lastIndexOf("."))] ?? "application/octet-stream";
      return new Response(body.readable, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

if (import.meta.main) {
  await runCli(async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        model: { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
    if (values.help) {
      console.log("usage: deno task browser [--model DIR] [--port N] [--host ADDRESS]");
      return 0;
    }
    const port = Number(values.port ?? "8000");
    if (!/^\d+$/.test(values.port ?? "8000") || port > 65535) {
      throw new UsageError(`--port must be a port number, not ${values.port}`);
    }
    const model = values.model ?? DEFAULT_MODEL;
    try {
      await Deno.stat(`${model}/onnx/model.onnx`);
    } catch {
      throw new UsageError(`${model} has no onnx/model.onnx: give --model a model directory`);
    }
    const bundle = `${root}dist/browser`;
    await buildBrowser(bundle);
    const server = serveBrowserDemo({ bundle, model, port, hostname: values.host });
    console.log(`embedge in the browser: http://${server.addr.hostname}:${server.addr.port}/`);
    console.log(`model: ${model}`);
    await server.finished;
    return 0;
  });
}
