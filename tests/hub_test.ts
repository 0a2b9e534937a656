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
      // everything present was cached; only the absent optional file is asked again
      assertEquals(server.requests.slice(before).map((r) => r.path.split("/").pop()), [
        "vocab.txt",
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
