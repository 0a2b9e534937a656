/**
 * Hub download against a local HTTP server on 127.0.0.1 serving a generated model
 * directory: the cache, resume after a broken transfer (Range/206), checksum checks and
 * atomic placement.
 */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { hasShared, tempDir } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { downloadModel, sha256File } from "../src/model/hub.ts";
import { Embedder } from "../src/model/embedder.ts";
import { ModelLoadError } from "../src/errors.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");
const REPO = "embedge/test-bert";

interface ServerControl {
  requests: { path: string; range: string | null }[];
  /** Break the body of this file once, after this many bytes. */
  breakOnce?: { file: string; after: number };
  /** Send a wrong ETag for this file. */
  wrongEtag?: string;
  url: string;
  close(): Promise<void>;
}

function serveModel(dir: string): ServerControl {
  const control = { requests: [] } as unknown as ServerControl;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const range = req.headers.get("range");
    control.requests.push({ path, range });
    const prefix = `/${REPO}/resolve/main/`;
    if (!path.startsWith(prefix)) return new Response("not found", { status: 404 });
    const file = decodeURIComponent(path.slice(prefix.length));
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = await Deno.readFile(`${dir}/${file}`);
    } catch {
      return new Response("not found", { status: 404 });
    }
    const etag = control.wrongEtag === file ? "0".repeat(64) : await sha256File(`${dir}/${file}`);
    const headers = new Headers({ etag: `"${etag}"` });
    let status = 200;
    let body: Uint8Array<ArrayBuffer> = bytes as Uint8Array<ArrayBuffer>;
    const m = range?.match(/^bytes=(\d+)-$/);
    if (m) {
      const from = Number(m[1]);
      if (from >= bytes.length) return new Response(null, { status: 416, headers });
      body = bytes.subarray(from);
      status = 206;
      headers.set("content-range", `bytes ${from}-${bytes.length - 1}/${bytes.length}`);
    }
    headers.set("content-length", String(body.length));
    const brk = control.breakOnce;
    if (brk && brk.file === file) {
      control.breakOnce = undefined;
      let sent = false;
      const stream = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (!sent) {
            sent = true;
            c.enqueue(body.slice(0, brk.after));
            return;
          }
          await new Promise((r) => setTimeout(r, 100)); // let the bytes reach the client
          c.error(new Error("connection dropped"));
        },
      });
      return new Response(stream, { status, headers });
    }
    return new Response(body, { status, headers });
  });
  control.url = `http://127.0.0.1:${server.addr.port}`;
  control.close = () => server.shutdown();
  return control;
}

Deno.test({
  name: "hub: download into the cache, load, and serve the second call from the cache",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 5, layers: 1 });
    const server = serveModel(model.dir);
    const cacheDir = await tempDir();
    try {
      const dir = await downloadModel(REPO, { cacheDir, endpoint: server.url });
      assertEquals(dir, `${cacheDir}/embedge--test-bert/main`);
      assertEquals(
        await sha256File(`${dir}/onnx/model.onnx`),
        await sha256File(`${model.dir}/onnx/model.onnx`),
      );
      const a = await Embedder.load(dir), b = await Embedder.load(model.dir);
      assertEquals(
        (await a.embed(["I love Paris."])).data,
        (await b.embed(["I love Paris."])).data,
      );
      const before = server.requests.length;
      assert(server.requests.some((r) => r.path.endsWith("/vocab.txt"))); // optional, 404
      await downloadModel(REPO, { cacheDir, endpoint: server.url });
      // a finished download is not asked again, not even for the absent optional file
      // (so a cached model loads offline)
      assertEquals(server.requests.slice(before).map((r) => r.path.split("/").pop()), []);
      // asking for a file the first call did not ask for goes to the server
      await downloadModel(REPO, { cacheDir, endpoint: server.url, files: ["special.txt?"] });
      assertEquals(server.requests.slice(before).map((r) => r.path.split("/").pop()), [
        "special.txt",
      ]);
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: "hub: a broken transfer leaves no file in place, and the next call resumes with Range",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 6, layers: 1 });
    const server = serveModel(model.dir);
    const cacheDir = await tempDir();
    try {
      server.breakOnce = { file: "onnx/model.onnx", after: 100_000 };
      await assertRejects(
        () => downloadModel(REPO, { cacheDir, endpoint: server.url }),
        ModelLoadError,
        "broke off",
      );
      const dir = `${cacheDir}/embedge--test-bert/main`;
      await assertRejects(() => Deno.stat(`${dir}/onnx/model.onnx`), Deno.errors.NotFound);
      const partial = (await Deno.stat(`${dir}/onnx/model.onnx.part`)).size;
      assert(partial > 0 && partial <= 100_000, `partial ${partial}`);
      await downloadModel(REPO, { cacheDir, endpoint: server.url });
      const last = server.requests.filter((r) => r.path.endsWith("onnx/model.onnx")).pop()!;
      assertEquals(last.range, `bytes=${partial}-`);
      assertEquals(
        await sha256File(`${dir}/onnx/model.onnx`),
        await sha256File(`${model.dir}/onnx/model.onnx`),
      );
      await assertRejects(() => Deno.stat(`${dir}/onnx/model.onnx.part`), Deno.errors.NotFound);
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: "hub: checksum mismatch, missing required file and bad ids are ModelLoadErrors",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 8, layers: 1 });
    const server = serveModel(model.dir);
    const cacheDir = await tempDir();
    try {
      server.wrongEtag = "config.json";
      const e = await assertRejects(
        () => downloadModel(REPO, { cacheDir, endpoint: server.url }),
        ModelLoadError,
        "SHA-256",
      );
      assertEquals(e.param, "checksum");
      const dir = `${cacheDir}/embedge--test-bert/main`;
      await assertRejects(() => Deno.stat(`${dir}/config.json`), Deno.errors.NotFound);
      await assertRejects(() => Deno.stat(`${dir}/config.json.part`), Deno.errors.NotFound);
      server.wrongEtag = undefined;
      // an explicit checksum wins over the server's
      await assertRejects(
        () =>
          downloadModel(REPO, {
            cacheDir,
            endpoint: server.url,
            checksums: { "config.json": "ab".repeat(32) },
          }),
        ModelLoadError,
        "SHA-256",
      );
      await assertRejects(
        () =>
          downloadModel(REPO, {
            cacheDir,
            endpoint: server.url,
            files: ["onnx/model_quantized.onnx"],
          }),
        ModelLoadError,
        "not found",
      );
      await assertRejects(() => downloadModel("../etc", { cacheDir }), ModelLoadError, "model id");
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name:
    "models by Hub id: Embedder.load and the CLI download into the cache (external data included), then work offline; not cached and offline is one clear error",
  ignore: ignore || !hasShared("models/all-MiniLM-L6-v2/onnx-graph-only/model.onnx"),
  sanitizeResources: false,
  async fn() {
    const { writeMiniLmStructure } = await import("./support/minilm_structure.ts");
    const { shared } = await import("./support/paths.ts");
    const model = await writeMiniLmStructure(
      shared("models/all-MiniLM-L6-v2"),
      await tempDir("embedge-hub-src-"),
    );
    const id = "sentence-transformers/all-MiniLM-L6-v2";
    const served: string[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      const prefix = `/${id}/resolve/main/`;
      if (!path.startsWith(prefix)) return new Response("not found", { status: 404 });
      served.push(path.slice(prefix.length));
      try {
        return new Response(await Deno.readFile(`${model.dir}/${path.slice(prefix.length)}`));
      } catch {
        return new Response("not found", { status: 404 });
      }
    });
    const endpoint = `http://127.0.0.1:${server.addr.port}`;
    const cache = await tempDir("embedge-hub-cache-");
    Deno.env.set("EMBEDGE_HUB_ENDPOINT", endpoint);
    Deno.env.set("EMBEDGE_CACHE", cache);
    try {
      const progress = new Map<string, [number, number | undefined]>();
      const e = await Embedder.load(id, {
        backend: "wasm",
        onDownload: (file, received, total) => progress.set(file, [received, total]),
      });
      assertEquals(e.info.modelId, id);
      // the progress callback saw every fetched file through to its end
      for (const file of ["config.json", "onnx/model.onnx", `onnx/${model.location}`]) {
        const [received, total] = progress.get(file) ?? [0, -1];
        assertEquals(received, Deno.statSync(`${model.dir}/${file}`).size, file);
        assert(total === undefined || total === received, `${file}: ${received} of ${total}`);
      }
      assertEquals(e.info.hiddenSize, 384);
      assert(served.includes(`onnx/${model.location}`), `external data not fetched: ${served}`);
      const local = await Embedder.load(model.dir, { backend: "wasm" });
      const [a, b] = [await e.embed(["I love Paris."]), await local.embed(["I love Paris."])];
      assertEquals(Array.from(a.data), Array.from(b.data));
      await e.close();
      await local.close();
      // the CLI by Hub id, served from the cache now: the server is gone
      await server.shutdown();
      const n = served.length;
      const cli = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../bin/embed.ts", import.meta.url).pathname,
          "--model",
          id,
          "--json",
          "x",
        ],
        env: { EMBEDGE_HUB_ENDPOINT: endpoint, EMBEDGE_CACHE: cache },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(cli.code, 0, new TextDecoder().decode(cli.stderr));
      assertEquals(JSON.parse(new TextDecoder().decode(cli.stdout)).model, id);
      assertEquals(served.length, n, "the cached model was fetched again");
      // another id, not cached, hub unreachable: one line naming the cache and the hub
      const err = await assertRejects(() => Embedder.load("someone/else"), ModelLoadError);
      assert(
        err.message.includes("not in the model cache") && err.message.includes(endpoint),
        err.message,
      );
    } finally {
      Deno.env.delete("EMBEDGE_HUB_ENDPOINT");
      Deno.env.delete("EMBEDGE_CACHE");
      await server.shutdown().catch(() => {});
    }
  },
});
